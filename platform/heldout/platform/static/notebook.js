// heldout notebook: the workspace's cell editor for a notebook challenge (global
// HeldoutNotebook). It mounts over the form's textarea, which keeps the notebook's JSON: what
// autosave sends and what Submit and "Run public checks" post. One CodeMirror per cell
// (static/vendor/editor.js); code and Markdown cells can be added, moved, retyped, deleted.
// Outputs come from the last public run, rendered and sanitised by the server.
(function () {
  "use strict";

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text) { el.textContent = text; }
    return el;
  }

  function button(text, label, onClick) {
    var b = element("button", "nb-button", text);
    b.type = "button";
    if (label) { b.setAttribute("aria-label", label); }
    b.addEventListener("click", onClick);
    return b;
  }

  // Cell ids: nbformat 4.5 wants 1-64 of [A-Za-z0-9_-].
  function newId() {
    var bytes = new Uint8Array(4);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sourceOf(cell) {
    return Array.isArray(cell.source) ? cell.source.join("") : String(cell.source || "");
  }

  var counter = 0;
  // The page's words in its language (heldout.js; i18n.JS_MESSAGES); English without it.
  var t = window.heldoutText || function (text) { return text; };
  var TYPES = { code: t("Code"), markdown: t("Markdown"), raw: t("Raw text") };

  function Notebook(box, textarea, doc, options) {
    this.box = box; this.textarea = textarea; this.doc = doc; this.options = options;
    this.cells = [];
    this.readOnly = !!options.readOnly;
    this.wrap = !!options.wrap;
    this.outputs = options.outputs || {};
    this.root = element("div", "notebook");
    this.root.setAttribute("role", "group");
    this.root.setAttribute("aria-label", t("Notebook %(name)s", { name: options.name }));
    this.bar = element("div", "nb-bar");
    this.status = element("p", "nb-status small");
    this.status.setAttribute("role", "status");
    this.bar.appendChild(this.status);
    this.list = element("ol", "nb-cells");
    this.adders = element("div", "nb-add");
    var self = this;
    this.adders.appendChild(button(t("+ Code cell"), "", function () { self.insert(self.cells.length, "code", "", true); }));
    this.adders.appendChild(button(t("+ Markdown cell"), "", function () { self.insert(self.cells.length, "markdown", "", true); }));
    this.root.appendChild(this.bar);
    this.root.appendChild(this.list);
    this.root.appendChild(this.adders);
    textarea.hidden = true;
    textarea.insertAdjacentElement("afterend", this.root);
    this.doc.cells.forEach(function (cell) {
      self.insert(self.cells.length, cell.cell_type, sourceOf(cell), false, cell);
    });
    this.setReadOnly(this.readOnly);
  }

  // The notebook in the textarea, or null when it is not JSON with cells (then the
  // textarea stays as it is: nothing the candidate wrote is hidden or rewritten).
  Notebook.parse = function (text) {
    try {
      var doc = JSON.parse(text || "");
      return doc && Array.isArray(doc.cells) ? doc : null;
    } catch (e) { return null; }
  };

  Notebook.prototype.insert = function (index, type, text, focus, original) {
    var self = this;
    var cell = {
      id: (original && typeof original.id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(original.id)) ? original.id : newId(),
      type: TYPES[type] ? type : "code",
      metadata: (original && original.metadata) || {},
      attachments: original && original.attachments
    };
    counter += 1;
    var item = element("li", "nb-cell");
    var head = element("div", "nb-cell-head");
    cell.label = element("span", "nb-label");
    head.appendChild(cell.label);
    var tools = element("div", "nb-tools");
    var typeId = "nb-type-" + counter;
    cell.typeLabel = element("label", "sr-only");
    cell.typeLabel.htmlFor = typeId;
    var select = element("select", "nb-type");
    select.id = typeId;
    Object.keys(TYPES).forEach(function (key) {
      if (key === "raw" && cell.type !== "raw") { return; }
      var option = element("option", "", TYPES[key]);
      option.value = key;
      select.appendChild(option);
    });
    select.value = cell.type;
    select.addEventListener("change", function () { self.retype(cell, select.value); });
    cell.up = button("↑", "", function () { self.move(cell, -1); });
    cell.down = button("↓", "", function () { self.move(cell, 1); });
    cell.add = button("+", "", function () { self.insert(self.cells.indexOf(cell) + 1, "code", "", true); });
    cell.remove = button(t("Delete"), "", function () { self.remove(cell); });
    cell.remove.classList.add("nb-delete");
    tools.appendChild(cell.typeLabel); tools.appendChild(select);
    tools.appendChild(cell.up); tools.appendChild(cell.down); tools.appendChild(cell.add); tools.appendChild(cell.remove);
    cell.tools = tools;
    head.appendChild(tools);
    item.appendChild(head);
    var mount = element("div", "cm-mount nb-source");
    item.appendChild(mount);
    cell.output = element("div", "nb-outputs");
    item.appendChild(cell.output);
    cell.item = item;
    cell.editor = window.HeldoutEditor.create(mount, {
      doc: text, mode: cell.type === "code" ? "python" : cell.type === "markdown" ? "markdown" : "text",
      wrap: this.wrap, readOnly: this.readOnly, label: t("Cell"),
      onChange: function () { self.changed(); }
    });
    this.cells.splice(index, 0, cell);
    this.list.insertBefore(item, this.list.children[index] || null);
    this.relabel();
    this.showOutput(cell);
    if (original === undefined) { this.changed(); }
    if (focus) { cell.editor.focus(); }
    return cell;
  };

  Notebook.prototype.relabel = function () {
    var self = this;
    this.cells.forEach(function (cell, i) {
      var n = i + 1, kind = TYPES[cell.type];
      cell.label.textContent = t("Cell %(n)s · %(kind)s", { n: n, kind: kind });
      cell.typeLabel.textContent = t("Type of cell %(n)s", { n: n });
      cell.up.setAttribute("aria-label", t("Move cell %(n)s up", { n: n }));
      cell.down.setAttribute("aria-label", t("Move cell %(n)s down", { n: n }));
      cell.add.setAttribute("aria-label", t("Add a code cell below cell %(n)s", { n: n }));
      cell.remove.setAttribute("aria-label", t("Delete cell %(n)s", { n: n }));
      cell.up.disabled = i === 0;
      cell.down.disabled = i === self.cells.length - 1;
      cell.editor.setLabel(t("Cell %(n)s (%(kind)s)", { n: n, kind: kind }));
    });
  };

  Notebook.prototype.move = function (cell, step) {
    var i = this.cells.indexOf(cell), j = i + step;
    if (j < 0 || j >= this.cells.length) { return; }
    this.cells.splice(i, 1);
    this.cells.splice(j, 0, cell);
    this.list.insertBefore(cell.item, step < 0 ? this.cells[j + 1].item : (this.cells[j + 1] ? this.cells[j + 1].item : null));
    this.relabel();
    (step < 0 ? (cell.up.disabled ? cell.down : cell.up) : (cell.down.disabled ? cell.up : cell.down)).focus();
    this.say(t("Cell moved to position %(n)s.", { n: j + 1 }));
    this.changed();
  };

  Notebook.prototype.retype = function (cell, type) {
    cell.type = type;
    cell.editor.setMode(type === "code" ? "python" : type === "markdown" ? "markdown" : "text");
    this.relabel();
    this.showOutput(cell);
    this.changed();
  };

  Notebook.prototype.remove = function (cell) {
    var i = this.cells.indexOf(cell);
    var self = this;
    var text = cell.editor.getValue();
    cell.editor.destroy();
    cell.item.remove();
    this.cells.splice(i, 1);
    this.relabel();
    this.changed();
    this.say(t("Cell %(n)s deleted.", { n: i + 1 }), button(t("Undo"), "", function () {
      var back = self.insert(i, cell.type, text, true, { id: cell.id, metadata: cell.metadata, attachments: cell.attachments });
      self.changed();
      self.say(t("Cell %(n)s is back.", { n: self.cells.indexOf(back) + 1 }));
    }));
    var next = this.cells[Math.min(i, this.cells.length - 1)];
    if (next) { next.remove.focus(); } else { this.adders.firstChild.focus(); }
  };

  Notebook.prototype.say = function (text, action) {
    this.status.textContent = text + " ";
    if (action) { this.status.appendChild(action); }
  };

  Notebook.prototype.showOutput = function (cell) {
    var html = cell.type === "code" ? this.outputs[cell.id] : "";
    cell.output.innerHTML = html || "";   // sanitised by the server (the report's policy)
    cell.output.hidden = !html;
    if (html) {
      cell.output.setAttribute("role", "region");
      cell.output.setAttribute("aria-label", t("Output of the last run of this cell"));
      cell.output.tabIndex = 0;
    }
  };

  // Outputs of a newer public run: {cell id: sanitised HTML}.
  Notebook.prototype.showOutputs = function (outputs) {
    var self = this;
    this.outputs = outputs || {};
    this.cells.forEach(function (cell) { self.showOutput(cell); });
  };

  Notebook.prototype.setReadOnly = function (on) {
    var self = this;
    this.readOnly = on;
    this.cells.forEach(function (cell) { cell.editor.setReadOnly(on); cell.tools.hidden = on; });
    this.adders.hidden = on;
    this.root.classList.toggle("nb-read-only", on);
    if (on) {
      this.say(t("This is the notebook you uploaded, shown read-only; it is your draft, so Submit sends it as it is."),
        button(t("Edit it here"), "", function () {
          self.setReadOnly(false);
          self.say(t("Editing: your changes are saved as your draft."));
          if (self.cells[0]) { self.cells[0].editor.focus(); }
        }));
    }
  };

  Notebook.prototype.changed = function () {
    this.textarea.value = this.getValue();
    if (this.options.onChange) { this.options.onChange(this.textarea.value); }
  };

  Notebook.prototype.getValue = function () {
    var doc = {};
    var self = this;
    Object.keys(this.doc).forEach(function (key) { doc[key] = self.doc[key]; });
    doc.nbformat = 4;
    doc.nbformat_minor = Math.max(5, parseInt(this.doc.nbformat_minor, 10) || 0);  // 4.5: cells have ids
    doc.metadata = this.doc.metadata || {};
    doc.cells = this.cells.map(function (c) {
      var cell = { id: c.id, cell_type: c.type, metadata: c.metadata, source: c.editor.getValue() };
      if (c.type === "code") { cell.execution_count = null; cell.outputs = []; }
      else if (c.attachments) { cell.attachments = c.attachments; }
      return cell;
    });
    return JSON.stringify(doc, null, 1) + "\n";
  };

  Notebook.prototype.setWrap = function (on) {
    this.wrap = on;
    this.cells.forEach(function (cell) { cell.editor.setWrap(on); });
  };

  Notebook.prototype.focus = function () { if (this.cells[0]) { this.cells[0].editor.focus(); } };
  Notebook.prototype.setMode = function () { /* a notebook stays a notebook */ };
  Notebook.prototype.setLabel = function () { /* each cell is labelled by its position */ };
  Notebook.prototype.destroy = function () {
    this.cells.forEach(function (cell) { cell.editor.destroy(); });
    this.root.remove();
    this.textarea.hidden = false;
  };

  window.HeldoutNotebook = {
    // The cell editor over `textarea` in `box`, or null when its text is not a notebook.
    create: function (box, textarea, options) {
      var doc = Notebook.parse(textarea.value);
      if (!doc || !window.HeldoutEditor) { return null; }
      return new Notebook(box, textarea, doc, options);
    }
  };
})();
