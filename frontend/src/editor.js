// The workspace editor: CodeMirror 6 with Python, SQL and Markdown modes, bundled into
// static/vendor/editor.js as the global HeldoutEditor. The page's own script
// (static/workspace.js) drives it; without JavaScript the textarea is the editor.
import { basicSetup } from "codemirror";
import { EditorState, Compartment } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit } from "@codemirror/language";
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

// One editor in `parent`; `options.onChange(text)` hears every edit. Tab indents; Esc then
// Tab moves focus on (CodeMirror's own escape from the indent-with-Tab binding).
export function create(parent, options) {
  const language = new Compartment();
  const editable = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc || "",
      extensions: [
        basicSetup,
        keymap.of([indentWithTab]),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        language.of((MODES[options.mode] || MODES.text)()),
        editable.of(EditorView.editable.of(!options.readOnly)),
        EditorView.contentAttributes.of({ "aria-label": options.label || "Code editor" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && options.onChange) { options.onChange(update.state.doc.toString()); }
        }),
      ],
    }),
  });
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    setMode: (mode) => view.dispatch({ effects: language.reconfigure((MODES[mode] || MODES.text)()) }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
