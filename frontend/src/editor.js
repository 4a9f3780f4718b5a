// The workspace editor: CodeMirror 6 with Python, SQL and Markdown modes, bundled into
// static/vendor/editor.js as the global HeldoutEditor. The page's own script
// (static/workspace.js) drives it; without JavaScript the textarea is the editor.
import { basicSetup } from "codemirror";
import { EditorState, Compartment } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit, HighlightStyle, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { sql, StandardSQL } from "@codemirror/lang-sql";
import { markdown } from "@codemirror/lang-markdown";

const MODES = {
  python: () => python(),
  sql: () => sql({ dialect: StandardSQL }),
  markdown: () => markdown(),
  text: () => [],
};

export function modeFor(name) {
  const lower = String(name).toLowerCase();
  if (lower.endsWith(".py")) { return "python"; }
  if (lower.endsWith(".sql")) { return "sql"; }
  if (lower.endsWith(".md")) { return "markdown"; }
  return "text";
}

// The page's policy allows no inline styles (no <style> element), so each editor lives in
// a shadow root, where CodeMirror's styles are constructed style sheets instead.
// The editor fills its host element (the page sizes the host: the pane, or a notebook cell).
const THEME = EditorView.theme({
  "&": { height: "100%", fontSize: ".88rem", backgroundColor: "#fbfbfc", color: "#1d2330" },
  ".cm-scroller": {
    fontFamily: 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace',
    lineHeight: "1.45",
  },
  "&.cm-focused": { outline: "3px solid #7aa7d6", outlineOffset: "-3px" },
  ".cm-gutters": { backgroundColor: "#f3f4f7", borderRight: "1px solid #dfe3ea", color: "#5d6675" },
  ".cm-activeLine": { backgroundColor: "#eef3f9" },
  ".cm-activeLineGutter": { backgroundColor: "#e3ebf4" },
});

// CodeMirror's default colours, with the few that fall short of 4.5:1 on the editor's
// background (type names, regular expressions, invalid text) darkened.
const DARKER = { "#085": "#00704a", "#e40": "#b53200", "#f00": "#c80000" };
const HIGHLIGHT = syntaxHighlighting(HighlightStyle.define(defaultHighlightStyle.specs.map(
  (spec) => (DARKER[spec.color] ? Object.assign({}, spec, { color: DARKER[spec.color] }) : spec))));

const views = new WeakMap();

// One editor in `parent`; `options.onChange(text)` hears every edit. Tab indents; Esc then
// Tab moves focus on (CodeMirror's own escape from the indent-with-Tab binding).
export function create(parent, options) {
  const root = parent.shadowRoot || parent.attachShadow({ mode: "open" });
  const language = new Compartment();
  const editable = new Compartment();
  const wrapping = new Compartment();
  const labelled = new Compartment();
  // tabindex: a contenteditable is in the tab order already, but checkers (axe) only
  // count the attribute as keyboard access to the scrolling region around it.
  const attributes = (label) => EditorView.contentAttributes.of({ "aria-label": label || "Code editor", tabindex: "0" });
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: options.doc || "",
      extensions: [
        basicSetup,
        HIGHLIGHT,
        keymap.of([indentWithTab]),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        THEME,
        language.of((MODES[options.mode] || MODES.text)()),
        editable.of(EditorView.editable.of(!options.readOnly)),
        wrapping.of(options.wrap ? EditorView.lineWrapping : []),
        labelled.of(attributes(options.label)),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && options.onChange) { options.onChange(update.state.doc.toString()); }
        }),
      ],
    }),
  });
  views.set(parent, view);
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    setMode: (mode) => view.dispatch({ effects: language.reconfigure((MODES[mode] || MODES.text)()) }),
    setWrap: (on) => view.dispatch({ effects: wrapping.reconfigure(on ? EditorView.lineWrapping : []) }),
    setReadOnly: (on) => view.dispatch({ effects: editable.reconfigure(EditorView.editable.of(!on)) }),
    setLabel: (label) => view.dispatch({ effects: labelled.reconfigure(attributes(label)) }),
    focus: () => view.focus(),
    destroy: () => { views.delete(parent); view.destroy(); },
  };
}

// The whole text of the editor mounted in `parent` (only the lines in view are drawn).
export function textOf(parent) {
  const view = views.get(parent);
  return view ? view.state.doc.toString() : null;
}
