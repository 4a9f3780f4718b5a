// heldout workspace: the CodeMirror editor over the textareas, autosave of drafts to the
// server, live status by server-sent events (polling as the fallback), the result tabs.
// Without it the page still works: the textareas post with the form, the page reloads.
(function () {
  "use strict";

  var SAVE_EVERY_MS = 3000;      // a dirty editor is saved this often
  var KEEPALIVE_MAX_BYTES = 60000; // fetch keepalive bodies are capped at 64 KiB
  var POLL_MS = 2000;
  // Errors come as problem documents (RFC 9457): type, title, status, detail, hint.
  var SESSION_MOVED = "/api/problems/session-moved";
  // The page's words in its language (heldout.js; i18n.JS_MESSAGES); English without it.
  var t = window.heldoutText || function (text) { return text; };

  function $(root, sel) { return root.querySelector(sel); }
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 5) { return t("just now"); }
    if (s < 60) { return t("%(seconds)s s ago", { seconds: s }); }
    var m = Math.floor(s / 60);
    return t("%(minutes)s min ago", { minutes: m });
  }

  // ---- editor and files -------------------------------------------------------------
  // The files are tabs (a list of them, with add / rename / delete inline); each tab's panel
  // is the form's textarea, with CodeMirror mounted over it when the bundle is loaded.
  var WRAP_KEY = "heldout-wrap";

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text) { el.textContent = text; }
    return el;
  }

  function storedFlag(key) {
    try { return window.localStorage.getItem(key) === "on"; } catch (e) { return false; }
  }

  function storeFlag(key, on) {
    try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function Files(ws, form, onChange) {
    this.ws = ws; this.form = form; this.onChange = onChange;
    this.holder = $(form, ".js-editor-files");
    this.entries = [];
    this.counter = 0;
    this.several = ws.getAttribute("data-several") === "yes";
    this.allowed = (ws.getAttribute("data-allowed") || "").split(" ").filter(Boolean);
    this.maxFiles = parseInt(ws.getAttribute("data-max-files"), 10) || 1;
    this.wrap = storedFlag(WRAP_KEY);
    var self = this;
    all(this.holder, ".js-editor-file").forEach(function (box) { self.adopt(box); });
    this.tools();
  }

  Files.prototype.adopt = function (box) {
    var textarea = $(box, "textarea");
    var name = box.getAttribute("data-name");
    var role = box.getAttribute("data-role") || (this.entries.length ? "file" : "entrypoint");
    var entry = { name: name, box: box, textarea: textarea, role: role, editor: null };
    this.counter += 1;
    box.id = "file-panel-" + this.counter;
    textarea.classList.toggle("wrap", this.wrap);
    var self = this;
    var notebook = /\.ipynb$/i.test(name) && window.HeldoutNotebook && !textarea.readOnly
      ? window.HeldoutNotebook.create(box, textarea, {
        name: name, wrap: this.wrap, outputs: this.cellOutputs(),
        readOnly: this.ws.getAttribute("data-shown-upload") === "yes",
        onChange: function () { self.onChange(); }
      }) : null;
    if (notebook) {
      entry.editor = notebook;
      this.notebook = notebook;
    } else if (window.HeldoutEditor && !textarea.readOnly) {
      var mount = element("div", "cm-mount");
      textarea.hidden = true;
      textarea.insertAdjacentElement("afterend", mount);
      entry.editor = window.HeldoutEditor.create(mount, {
        doc: textarea.value, mode: window.HeldoutEditor.modeFor(name), wrap: this.wrap,
        label: t("Code editor: %(name)s", { name: name }),
        onChange: function (text) { textarea.value = text; self.onChange(); }
      });
    } else {
      textarea.addEventListener("input", function () { self.onChange(); });
    }
    this.entries.push(entry);
    return entry;
  };

  // The last public run's outputs per notebook cell (server-rendered, sanitised there).
  Files.prototype.cellOutputs = function () {
    var outputs = {};
    all(this.ws, ".js-cell-outputs [data-cell]").forEach(function (el) { outputs[el.getAttribute("data-cell")] = el.innerHTML; });
    return outputs;
  };

  // What is saved and submitted: an optional file the challenge names counts once it has text.
  Files.prototype.values = function () {
    return this.entries.map(function (e) {
      return { name: e.name, content: e.editor ? e.editor.getValue() : e.textarea.value, role: e.role };
    }).filter(function (f) { return f.role !== "optional" || f.content.trim(); })
      .map(function (f) { return { name: f.name, content: f.content }; });
  };

  Files.prototype.tools = function () {
    var self = this;
    var bar = element("div", "file-bar");
    var list = element("div", "file-list");
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", t("Your files"));
    bar.appendChild(list);
    this.list = list;
    var actions = element("div", "file-actions");
    if (this.several) {
      this.addButton = element("button", "link js-add-file", "+ New file");
      this.addButton.type = "button";
      this.addButton.addEventListener("click", function () { self.askName(null); });
      this.renameButton = element("button", "link js-rename-file", t("Rename"));
      this.renameButton.type = "button";
      this.renameButton.addEventListener("click", function () { self.askName(self.current); });
      this.deleteButton = element("button", "link danger js-delete-file", t("Delete"));
      this.deleteButton.type = "button";
      this.deleteButton.addEventListener("click", function () { self.askDelete(self.current); });
      actions.appendChild(this.addButton);
      actions.appendChild(this.renameButton);
      actions.appendChild(this.deleteButton);
    }
    var wrapLabel = element("label", "checkbox wrap-toggle");
    var wrap = element("input");
    wrap.type = "checkbox"; wrap.checked = this.wrap; wrap.className = "js-wrap";
    wrap.addEventListener("change", function () { self.setWrap(wrap.checked); });
    wrapLabel.appendChild(wrap);
    wrapLabel.appendChild(document.createTextNode(" Wrap long lines"));
    actions.appendChild(wrapLabel);
    bar.appendChild(actions);
    this.dialog = this.nameEditor();
    bar.appendChild(this.dialog.box);
    this.confirm = this.deleteConfirm();
    bar.appendChild(this.confirm.box);
    this.holder.insertAdjacentElement("beforebegin", bar);
    this.entries.forEach(function (e) { self.tabFor(e); });
    list.addEventListener("keydown", function (ev) {
      var i = self.entries.indexOf(self.current), n = 0;
      if (ev.key === "ArrowRight" || ev.key === "ArrowDown") { n = 1; }
      if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") { n = -1; }
      var next = null;
      if (n) { next = self.entries[(i + n + self.entries.length) % self.entries.length]; }
      if (ev.key === "Home") { next = self.entries[0]; }
      if (ev.key === "End") { next = self.entries[self.entries.length - 1]; }
      if (next) { ev.preventDefault(); self.show(next); next.tab.focus(); }
    });
    this.show(this.entries[0]);
  };

  Files.prototype.tabFor = function (entry) {
    var self = this;
    var tab = element("button", "file-tab mono");
    tab.type = "button"; tab.setAttribute("role", "tab");
    tab.id = entry.box.id + "-tab";
    tab.setAttribute("aria-controls", entry.box.id);
    tab.addEventListener("click", function () { self.show(entry); });
    entry.tab = tab;
    entry.box.setAttribute("role", "tabpanel");
    entry.box.setAttribute("aria-labelledby", tab.id);
    this.list.appendChild(tab);
    var label = $(entry.box, "label");
    if (label) { label.classList.add("sr-only"); }
    this.label(entry);
  };

  Files.prototype.label = function (entry) {
    entry.tab.textContent = entry.name;
    var note = entry.role === "entrypoint" ? "main" : entry.role === "optional" ? "optional" : "";
    if (note) { entry.tab.appendChild(element("span", "tab-note", note)); }
    entry.tab.title = entry.role === "entrypoint" ? t("The file the checks run")
      : entry.role === "optional" ? t("Named by the challenge; submitted once it has text") : "";
  };

  Files.prototype.show = function (entry) {
    this.entries.forEach(function (e) {
      e.box.hidden = e !== entry;
      if (e.tab) { e.tab.setAttribute("aria-selected", e === entry ? "true" : "false"); e.tab.tabIndex = e === entry ? 0 : -1; }
    });
    this.current = entry;
    var own = entry && entry.role === "file";  // the entrypoint and the named files keep their names
    if (this.renameButton) { this.renameButton.hidden = !own; this.renameButton.setAttribute("aria-label", t("Rename %(name)s", { name: entry ? entry.name : "" })); }
    if (this.deleteButton) { this.deleteButton.hidden = !own; this.deleteButton.setAttribute("aria-label", t("Delete %(name)s", { name: entry ? entry.name : "" })); }
  };

  Files.prototype.setWrap = function (on) {
    this.wrap = on;
    storeFlag(WRAP_KEY, on);
    this.entries.forEach(function (e) {
      if (e.editor) { e.editor.setWrap(on); }
      e.textarea.classList.toggle("wrap", on);
    });
  };

  Files.prototype.accepts = function (name) {
    return this.allowed.some(function (pattern) {
      var re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, ".") + "$");
      return re.test(name) || re.test(name.split("/").pop());
    });
  };

  // What is wrong with `name` for a new file (or as the new name of `renaming`), or "".
  Files.prototype.problem = function (name, renaming) {
    var accepted = "names must match " + this.allowed.join(" or ");
    if (!name) { return t("Type a name (%(accepted)s).", { accepted: accepted }); }
    if (/\s/.test(name.charAt(0)) || /\s$/.test(name)) { return t("No spaces at the start or the end of the name."); }
    if (name.charAt(0) === "." || name.charAt(0) === "/" || name.indexOf("..") >= 0 || name.indexOf("\\") >= 0 || /[\u0000-\u001f]/.test(name)) {
      return t("Use a plain name: no leading dot or slash, no \"..\", no backslash.");
    }
    if (name.length > 200) { return t("At most 200 characters."); }
    if (!this.accepts(name)) { return name + " is not accepted here: " + accepted + "."; }
    var taken = this.entries.some(function (e) { return e.name === name && e !== renaming; });
    if (taken) { return t("There is a file called %(name)s already.", { name: name }); }
    return "";
  };

  Files.prototype.nameEditor = function () {
    var self = this;
    var box = element("div", "name-editor js-name-editor");
    box.hidden = true;
    var label = element("label", "", t("New file name"));
    label.htmlFor = "file-name-input";
    var input = element("input", "mono");
    input.type = "text"; input.id = "file-name-input"; input.autocomplete = "off";
    input.spellcheck = false; input.setAttribute("autocapitalize", "off");
    input.setAttribute("aria-describedby", "file-name-hint");
    var ok = element("button", "primary", t("Create"));
    ok.type = "button";
    var cancel = element("button", "", t("Cancel"));
    cancel.type = "button";
    var hint = element("p", "small file-name-hint");
    hint.id = "file-name-hint";
    hint.setAttribute("aria-live", "polite");
    var row = element("div", "name-row");
    row.appendChild(input); row.appendChild(ok); row.appendChild(cancel);
    box.appendChild(label); box.appendChild(row); box.appendChild(hint);
    var state = { box: box, input: input, hint: hint, label: label, ok: ok, renaming: null };
    function check() {
      var problem = self.problem(input.value, state.renaming);
      hint.textContent = problem || (input.value + " is accepted.");
      hint.classList.toggle("bad", !!problem);
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      return !problem;
    }
    function done() {
      if (!check()) { input.focus(); return; }
      var name = input.value;
      box.hidden = true;
      if (state.renaming) { self.rename(state.renaming, name); } else { self.addFile(name); }
    }
    input.addEventListener("input", check);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); done(); }   // never the form's submit
      if (ev.key === "Escape") { ev.preventDefault(); box.hidden = true; (state.renaming || self.current).tab.focus(); }
    });
    ok.addEventListener("click", done);
    cancel.addEventListener("click", function () { box.hidden = true; self.current.tab.focus(); });
    state.check = check;
    return state;
  };

  Files.prototype.askName = function (renaming) {
    this.confirm.box.hidden = true;
    var d = this.dialog;
    if (!renaming && this.entries.length >= this.maxFiles) {
      d.box.hidden = false;
      d.label.textContent = t("New file name");
      d.input.hidden = true; d.ok.hidden = true;
      d.hint.textContent = t("This challenge takes at most %(most)s files: delete one first.", { most: this.maxFiles });
      d.hint.classList.add("bad");
      return;
    }
    d.input.hidden = false; d.ok.hidden = false;
    d.renaming = renaming;
    d.label.textContent = renaming ? t("New name for %(name)s", { name: renaming.name }) : t("New file name");
    d.ok.textContent = renaming ? t("Rename") : t("Create");
    d.input.value = renaming ? renaming.name : "";
    d.box.hidden = false;
    if (renaming) { d.check(); } else { d.hint.textContent = "File names must match " + this.allowed.join(" or ") + "."; d.hint.classList.remove("bad"); }
    d.input.focus();
    if (renaming) { d.input.setSelectionRange(0, renaming.name.lastIndexOf(".") > 0 ? renaming.name.lastIndexOf(".") : renaming.name.length); }
  };

  Files.prototype.deleteConfirm = function () {
    var self = this;
    var box = element("div", "delete-confirm js-delete-confirm");
    box.hidden = true;
    box.setAttribute("role", "group");
    box.setAttribute("aria-labelledby", "delete-question");
    var question = element("p", "");
    question.id = "delete-question";
    var yes = element("button", "danger-button", t("Delete"));
    yes.type = "button";
    var no = element("button", "", t("Keep it"));
    no.type = "button";
    box.appendChild(question); box.appendChild(yes); box.appendChild(no);
    var state = { box: box, question: question, yes: yes, entry: null };
    yes.addEventListener("click", function () { box.hidden = true; self.removeFile(state.entry); });
    no.addEventListener("click", function () { box.hidden = true; state.entry.tab.focus(); });
    return state;
  };

  Files.prototype.askDelete = function (entry) {
    this.dialog.box.hidden = true;
    this.confirm.entry = entry;
    this.confirm.question.textContent = t("Delete %(name)s? Its text leaves your draft and your next submission.", { name: entry.name });
    this.confirm.yes.textContent = t("Delete %(name)s", { name: entry.name });
    this.confirm.box.hidden = false;
    this.confirm.yes.focus();
  };

  Files.prototype.addFile = function (name) {
    var box = element("div", "editor-file js-editor-file");
    box.setAttribute("data-name", name);
    box.setAttribute("data-role", "file");
    var hidden = element("input");
    hidden.type = "hidden"; hidden.name = "extra_name"; hidden.value = name;
    var id = "extra-new-" + (this.counter + 1);
    var label = element("label", "mono file-label", name);
    label.htmlFor = id;
    var textarea = element("textarea", "code-editor");
    textarea.id = id; textarea.name = "extra_code"; textarea.rows = 14;
    textarea.spellcheck = false;
    box.appendChild(hidden); box.appendChild(label); box.appendChild(textarea);
    this.holder.appendChild(box);
    var entry = this.adopt(box);
    this.tabFor(entry);
    this.show(entry);
    if (entry.editor) { entry.editor.focus(); } else { textarea.focus(); }
    this.onChange();
  };

  Files.prototype.rename = function (entry, name) {
    if (name === entry.name) { entry.tab.focus(); return; }
    entry.name = name;
    entry.box.setAttribute("data-name", name);
    var hidden = $(entry.box, "input[name=extra_name]");
    if (hidden) { hidden.value = name; }
    var label = $(entry.box, "label");
    if (label) { label.textContent = name; }
    if (entry.editor) {
      entry.editor.setMode(window.HeldoutEditor.modeFor(name));
      entry.editor.setLabel(t("Code editor: %(name)s", { name: name }));
    }
    this.label(entry);
    this.show(entry);
    entry.tab.focus();
    this.onChange();
  };

  Files.prototype.removeFile = function (entry) {
    if (entry.editor) { entry.editor.destroy(); }
    entry.box.remove(); entry.tab.remove();
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.show(this.entries[0]);
    this.entries[0].tab.focus();
    this.onChange();
  };

  // ---- autosave ---------------------------------------------------------------------
  function Autosave(ws, files, indicator) {
    this.url = ws.getAttribute("data-draft-url");
    this.csrf = ws.getAttribute("data-csrf");
    this.files = files; this.indicator = indicator;
    this.version = 0; this.savedVersion = 0; this.inFlight = false; this.closed = false;
    this.holdUntil = 0; this.problem = ""; this.moved = false;
    var saved = ws.getAttribute("data-saved-at");
    this.savedAt = saved ? Date.parse(saved) : null;
    var self = this;
    window.setInterval(function () { self.tick(); }, 1000);
    this.render();
  }

  Autosave.prototype.dirty = function () { return this.version !== this.savedVersion; };
  Autosave.prototype.changed = function () { this.version += 1; this.lastChange = Date.now(); this.render(); };

  Autosave.prototype.body = function () { return JSON.stringify({ files: this.files.values() }); };

  Autosave.prototype.tick = function () {
    var due = !this.lastAttempt || Date.now() - this.lastAttempt >= SAVE_EVERY_MS;
    if (this.dirty() && !this.inFlight && !this.closed && due && Date.now() >= this.holdUntil) { this.save(); }
    this.render();
  };

  Autosave.prototype.save = function () {
    var self = this, version = this.version;
    this.inFlight = true; this.lastAttempt = Date.now();
    this.render();
    return fetch(this.url, {
      method: "POST", credentials: "same-origin", body: this.body(),
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": this.csrf }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { r: r, data: data }; });
    }).then(function (res) {
      self.inFlight = false;
      if (res.r.ok) {
        self.savedVersion = version; self.problem = "";
        self.savedAt = res.data.saved_at ? Date.parse(res.data.saved_at) : Date.now();
      } else if (res.data.type === SESSION_MOVED) {
        // Another browser took the attempt over: stop saving, keep the text in the editor.
        self.closed = true; self.moved = true;
        self.problem = t("Not saved: %(why)s", { why: res.data.detail + (res.data.hint ? " " + res.data.hint : "") });
      } else if (res.r.status === 409) {
        self.closed = true; self.savedVersion = self.version;
        self.problem = t("Time is up: the server keeps your last saved work and submits it.");
      } else if (res.r.status === 429) {
        self.holdUntil = Date.now() + 1000 * (parseInt(res.r.headers.get("Retry-After"), 10) || 10);
        self.problem = t("Saving paused for a moment (too many saves); your text is still here.");
      } else {
        self.holdUntil = Date.now() + 5000;
        self.problem = t("Not saved: %(why)s", { why: (res.data.detail || ("error " + res.r.status)) + (res.data.hint ? " " + res.data.hint : "") });
      }
      self.render();
    }).catch(function () {
      self.inFlight = false; self.holdUntil = Date.now() + 3000;
      self.problem = t("Not saved: the server can't be reached. Retrying; keep this page open.");
      self.render();
    });
  };

  // Leaving the page: one last save that outlives it (keepalive fetch, else a beacon).
  Autosave.prototype.flush = function () {
    if (!this.dirty() || this.closed) { return; }
    var body = this.body();
    if (body.length <= KEEPALIVE_MAX_BYTES) {
      try {
        fetch(this.url, { method: "POST", credentials: "same-origin", keepalive: true, body: body,
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": this.csrf } });
        return;
      } catch (e) { /* fall through to the beacon */ }
    }
    if (navigator.sendBeacon) {
      var form = new FormData();
      form.append("csrf_token", this.csrf);
      form.append("payload", body);
      navigator.sendBeacon(this.url, form);
    }
  };

  Autosave.prototype.render = function () {
    var out = this.indicator;
    if (!out) { return; }
    var text;
    if (this.problem) { text = this.problem; }
    else if (this.inFlight) { text = t("Saving…"); }
    else if (this.dirty()) { text = t("Unsaved changes"); }
    else if (this.savedAt) { text = t("Saved %(when)s", { when: ago(Date.now() - this.savedAt) }); }
    else { text = out.getAttribute("data-initial") || out.textContent; }
    // Only a change of meaning is announced, not every tick of "3 s ago".
    var kind = this.problem ? "problem" : this.inFlight ? "saving" : this.dirty() ? "dirty" : "saved";
    if (out.getAttribute("data-kind") !== kind) { out.setAttribute("aria-live", "polite"); }
    else { out.setAttribute("aria-live", "off"); }
    out.setAttribute("data-kind", kind);
    out.classList.toggle("save-problem", !!this.problem);
    if (out.textContent !== text) { out.textContent = text; }
  };

  // ---- editor events ----------------------------------------------------------------
  // What the consent page says is recorded, and nothing more: a paste's size in characters
  // and its file (never its text), the page losing and regaining focus, a long idle gap.
  // Batched: sent every few seconds when something happened (soon after a paste, so the
  // next autosave is the draft after it), and once more when the page is left. Each event
  // says how long ago it happened; the server dates it by its own clock.
  var EVENTS_EVERY_MS = 10000;
  var EVENTS_MAX_QUEUED = 100;

  function EditorEvents(ws, files) {
    this.url = ws.getAttribute("data-editor-events-url");
    this.csrf = ws.getAttribute("data-csrf");
    this.idleMs = 60000 * (parseInt(ws.getAttribute("data-idle-minutes"), 10) || 5);
    this.files = files; this.queue = []; this.stopped = false; this.holdUntil = 0;
    this.lastActive = Date.now(); this.lostAt = null;
    var self = this, holder = files.holder;
    holder.addEventListener("paste", function (ev) {
      var text = ev.clipboardData ? ev.clipboardData.getData("text/plain") : "";
      var entry = self.entryOf(ev.target);
      self.active();
      if (text.length && entry) { self.add({ kind: "paste", file: entry.name, chars: text.length }); self.soon(); }
    }, true);
    holder.addEventListener("keydown", function () { self.active(); }, true);
    window.addEventListener("blur", function () {
      if (self.lostAt === null) { self.lostAt = Date.now(); self.add({ kind: "focus_lost" }); }
    });
    window.addEventListener("focus", function () {
      if (self.lostAt === null) { return; }
      self.add({ kind: "focus_back", seconds: Math.round((Date.now() - self.lostAt) / 1000) });
      self.lostAt = null;
    });
    window.setInterval(function () { self.send(false); }, EVENTS_EVERY_MS);
  }

  EditorEvents.prototype.entryOf = function (node) {
    var found = null;
    this.files.entries.forEach(function (e) { if (e.box.contains(node)) { found = e; } });
    return found || this.files.current;
  };

  // Typing again after a long pause: the pause is an idle gap.
  EditorEvents.prototype.active = function () {
    var now = Date.now(), gap = now - this.lastActive;
    if (gap >= this.idleMs) {
      var entry = this.files.current;
      this.add({ kind: "idle", seconds: Math.floor(gap / 1000), file: entry ? entry.name : null });
    }
    this.lastActive = now;
  };

  EditorEvents.prototype.add = function (event) {
    if (this.stopped) { return; }
    event.t = Date.now();
    this.queue.push(event);
    if (this.queue.length > EVENTS_MAX_QUEUED) { this.queue.shift(); }
  };

  EditorEvents.prototype.soon = function () {
    var self = this;
    if (!this.timer) { this.timer = window.setTimeout(function () { self.timer = null; self.send(false); }, 500); }
  };

  EditorEvents.prototype.body = function (batch) {
    var now = Date.now();
    return JSON.stringify({ events: batch.map(function (e) {
      var out = { kind: e.kind, ago_ms: Math.max(0, now - e.t) };
      if (e.file) { out.file = e.file; }
      if (e.chars !== undefined) { out.chars = e.chars; }
      if (e.seconds !== undefined) { out.seconds = e.seconds; }
      return out;
    }) });
  };

  // ``leaving``: the page is going away, so the request must outlive it (keepalive).
  EditorEvents.prototype.send = function (leaving) {
    if (this.stopped || this.inFlight || !this.queue.length || Date.now() < this.holdUntil) { return; }
    var self = this, batch = this.queue.splice(0, this.queue.length);
    var body = this.body(batch);
    var headers = { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": this.csrf };
    if (leaving) {
      try { fetch(this.url, { method: "POST", credentials: "same-origin", keepalive: true, body: body, headers: headers }); }
      catch (e) { /* the page is gone either way */ }
      return;
    }
    this.inFlight = true;
    fetch(this.url, { method: "POST", credentials: "same-origin", body: body, headers: headers })
      .then(function (r) {
        self.inFlight = false;
        if (r.status === 429) {
          self.queue = batch.concat(self.queue);
          self.holdUntil = Date.now() + 1000 * (parseInt(r.headers.get("Retry-After"), 10) || 10);
        } else if (r.status === 403 || r.status === 404 || r.status === 409 || r.status === 410) {
          self.stopped = true;  // the attempt is closed or moved: nothing more is taken
        }
        // Any other refusal: that batch is dropped (sending it again would fail again).
      })
      .catch(function () { self.inFlight = false; self.queue = batch.concat(self.queue).slice(-EVENTS_MAX_QUEUED); });
  };

  // ---- result tabs ------------------------------------------------------------------
  function tabs(box) {
    var list = $(box, "[role=tablist]");
    if (!list) { return null; }
    var buttons = all(list, "[role=tab]");
    function select(button, focus) {
      buttons.forEach(function (b) {
        var on = b === button;
        b.setAttribute("aria-selected", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(b.getAttribute("aria-controls"));
        if (panel) { panel.hidden = !on; panel.setAttribute("role", "tabpanel"); panel.setAttribute("aria-labelledby", b.id); panel.tabIndex = 0; }
      });
      if (focus) { button.focus(); }
    }
    buttons.forEach(function (b, i) {
      b.addEventListener("click", function () { select(b, false); });
      b.addEventListener("keydown", function (e) {
        var n = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (e.key === "Home") { e.preventDefault(); select(buttons[0], true); }
        else if (e.key === "End") { e.preventDefault(); select(buttons[buttons.length - 1], true); }
        else if (n) { e.preventDefault(); select(buttons[(i + n + buttons.length) % buttons.length], true); }
      });
    });
    list.hidden = false;
    all(box, ".tab-panel h3").forEach(function (h) { h.classList.add("sr-only"); });
    var start = buttons[0];
    buttons.forEach(function (b) { if ("#" + b.getAttribute("aria-controls") === window.location.hash) { start = b; } });
    select(start, false);
    return { show: function (id) { buttons.forEach(function (b) { if (b.getAttribute("aria-controls") === id) { select(b, false); } }); } };
  }

  // ---- live status ------------------------------------------------------------------
  function Live(ws, tabset, files) {
    this.ws = ws; this.tabset = tabset; this.files = files;
    this.eventsUrl = ws.getAttribute("data-events-url");
    this.stateUrl = ws.getAttribute("data-state-url");
    this.runBase = ws.getAttribute("data-public-run-base");
    var block = $(ws, ".public-run");
    this.runShown = block ? block.getAttribute("data-run-status") : null;
    this.runId = block ? block.getAttribute("data-run-id") : null;
  }

  Live.prototype.pending = function () {
    return all(this.ws, "[data-status-url]").length > 0 || all(this.ws, "[data-public-run-url]").length > 0;
  };

  Live.prototype.start = function () {
    if (!this.pending()) { return; }
    var self = this;
    // The practice page has no event stream: it polls its state.
    if (!window.EventSource || !this.eventsUrl) { this.poll(); return; }
    var es = new EventSource(this.eventsUrl);
    this.es = es;
    es.addEventListener("status", function (e) { self.apply(JSON.parse(e.data)); });
    es.addEventListener("final", function () { es.close(); });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) { self.poll(); }
    };
  };

  Live.prototype.poll = function () {
    var self = this;
    fetch(this.stateUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (state) { self.apply(state); if (!state.final) { window.setTimeout(function () { self.poll(); }, POLL_MS); } })
      .catch(function () { window.setTimeout(function () { self.poll(); }, POLL_MS * 3); });
  };

  Live.prototype.apply = function (state) {
    var self = this;
    var list = $(this.ws, ".js-submissions");
    state.submissions.forEach(function (s) {
      var item = $(list, "[data-id='" + s.id + "']");
      if (!item) {
        item = document.createElement("li");
        item.className = "submission"; item.setAttribute("data-id", s.id);
        item.innerHTML = '<span class="sub-id"></span> <time class="muted small"></time> <span class="js-status-badge" aria-live="polite"><span class="badge"></span></span> <span class="js-status-message"></span> <span class="js-status-score"></span><div class="js-reasons"></div>';
        $(item, ".sub-id").textContent = "#" + s.id;
        $(item, "time").textContent = s.created_at.slice(11, 19) + " UTC";
        list.insertBefore(item, list.firstChild);
        var empty = $(self.ws, ".js-no-subs");
        if (empty) { empty.remove(); }
      }
      var badge = $(item, ".js-status-badge .badge");
      if (badge) { badge.textContent = s.status.replace("_", " "); badge.className = "badge badge-" + s.status.replace("_", "-"); }
      $(item, ".js-status-message").textContent = s.message + (s.elapsed_seconds !== null ? " (" + s.elapsed_seconds + " s)" : "");
      $(item, ".js-status-score").textContent = s.score !== null ? "score " + (Math.round(s.score * 10) / 10) : "";
      var reasons = $(item, ".js-reasons");
      reasons.textContent = "";
      s.reasons.forEach(function (r) {
        var p = document.createElement("p"); p.className = "reason";
        var strong = document.createElement("strong"); strong.textContent = r.title + ". ";
        var advice = document.createElement("span"); advice.className = "muted"; advice.textContent = " What to try: " + r.advice;
        p.appendChild(strong); p.appendChild(document.createTextNode(r.detail)); p.appendChild(advice);
        reasons.appendChild(p);
      });
      if (s.count_note) { var n = document.createElement("p"); n.className = "muted small count-note"; n.textContent = s.count_note; reasons.appendChild(n); }
      item.classList.toggle("counts", !!s.counts);
      if (s.final) { item.removeAttribute("data-status-url"); }
    });
    // Other parts of the page (the run console, static/console.js) follow the same state.
    this.ws.dispatchEvent(new CustomEvent("heldout:state", { detail: state }));
    var run = state.public_run;
    if (run && (String(run.id) !== String(this.runId) || run.status !== this.runShown)) {
      this.runId = run.id; this.runShown = run.status;
      this.refreshRun(run.id);
    }
  };

  // The server renders the results block (escaped there); it and the output tab follow it.
  Live.prototype.refreshRun = function (id) {
    var self = this;
    fetch(this.runBase + id, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (s) {
        var holder = $(self.ws, ".js-public-run-holder");
        var box = document.createElement("div");
        box.innerHTML = s.html;
        var fresh = $(box, ".public-run");
        if (!fresh || !holder) { return; }
        fresh.removeAttribute("data-public-run-url");  // the event stream follows it now
        if (self.files && self.files.notebook && s.cells) { self.files.notebook.showOutputs(s.cells); }
        holder.textContent = "";
        holder.appendChild(fresh);
        var output = $(fresh, ".run-output");
        var target = $(self.ws, ".js-output");
        if (output && target) {
          target.textContent = "";
          all(output, "h4, pre, p").forEach(function (el) { target.appendChild(el.cloneNode(true)); });
          var note = document.createElement("p"); note.className = "muted small";
          note.textContent = t("Long output is cut: only its last part is kept.");
          target.appendChild(note);
        }
      })
      .catch(function () { /* the next event tries again */ self.runShown = null; });
  };

  // ---- layout: the split between statement and editor, and the results' height -------
  // A separator the mouse drags and the arrow keys move; where it was left is remembered.
  // Sizes go through custom properties (the page's policy allows no style attributes in
  // the markup; the CSS object model is allowed).
  function splitter(options) {
    var sep = element("div", "splitter " + options.className);
    sep.setAttribute("role", "separator");
    sep.setAttribute("aria-orientation", options.vertical ? "vertical" : "horizontal");
    sep.setAttribute("aria-label", options.label);
    sep.setAttribute("aria-valuemin", String(options.min));
    sep.setAttribute("aria-valuemax", String(options.max));
    sep.tabIndex = 0;
    var value = options.initial;
    try { value = parseFloat(window.localStorage.getItem(options.key)) || options.initial; } catch (e) { /* private mode */ }
    function set(v, keep) {
      value = Math.max(options.min, Math.min(options.max, Math.round(v)));
      sep.setAttribute("aria-valuenow", String(value));
      options.apply(value);
      if (keep) { try { window.localStorage.setItem(options.key, String(value)); } catch (e) { /* private mode */ } }
    }
    sep.addEventListener("keydown", function (ev) {
      var step = { ArrowLeft: -5, ArrowUp: -5, ArrowRight: 5, ArrowDown: 5 }[ev.key];
      if (ev.key === "Home") { ev.preventDefault(); set(options.min, true); }
      else if (ev.key === "End") { ev.preventDefault(); set(options.max, true); }
      else if (step) { ev.preventDefault(); set(value + (options.invert ? -step : step), true); }
    });
    sep.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      sep.setPointerCapture(ev.pointerId);
      sep.classList.add("dragging");
      function move(e) { set(options.fromPointer(e), false); }
      function up(e) {
        sep.releasePointerCapture(e.pointerId);
        sep.classList.remove("dragging");
        sep.removeEventListener("pointermove", move);
        sep.removeEventListener("pointerup", up);
        set(value, true);
      }
      sep.addEventListener("pointermove", move);
      sep.addEventListener("pointerup", up);
    });
    set(value, false);
    return sep;
  }

  function layout(ws) {
    var left = $(ws, ".split-left"), pane = $(ws, ".editor-pane"), results = $(ws, ".bottom-panel");
    if (!left || !pane) { return; }
    ws.classList.add("resizable");
    left.insertAdjacentElement("afterend", splitter({
      className: "splitter-columns", vertical: true, key: "heldout-split", min: 20, max: 80, initial: 45,
      label: t("Width of the statement (percent); the editor takes the rest"),
      apply: function (v) { ws.style.setProperty("--statement-share", v + "fr"); ws.style.setProperty("--editor-share", (100 - v) + "fr"); },
      fromPointer: function (e) { var box = ws.getBoundingClientRect(); return 100 * (e.clientX - box.left) / box.width; }
    }));
    if (results) {
      results.insertAdjacentElement("beforebegin", splitter({
        className: "splitter-rows", vertical: false, key: "heldout-results", min: 10, max: 70, initial: 22, invert: true,
        label: t("Height of the results (percent of the pane); the editor takes the rest"),
        apply: function (v) { pane.style.setProperty("--results-share", v + "%"); },
        fromPointer: function (e) { var box = pane.getBoundingClientRect(); return 100 * (box.bottom - e.clientY) / box.height; }
      }));
    }
  }

  // ---- page wiring ------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    var ws = document.querySelector(".js-workspace");
    if (ws) {
      layout(ws);
      var tabset = tabs($(ws, ".js-tabs"));
      var form = $(ws, ".js-editor-form");
      var indicator = $(ws, ".js-save-state");
      if (indicator) { indicator.setAttribute("data-initial", indicator.textContent); }
      var saver = null;
      var files = form && $(form, ".js-editor-files")
        ? new Files(ws, form, function () { if (saver) { saver.changed(); } }) : null;
      if (files && ws.getAttribute("data-draft-url")) {
        saver = new Autosave(ws, files, indicator);
        var recorder = ws.getAttribute("data-editor-events-url") ? new EditorEvents(ws, files) : null;
        if (recorder) { window.addEventListener("pagehide", function () { recorder.send(true); }); }
        var submitting = false;
        // The submitted text is the draft too (a refused submit keeps it on the server).
        form.addEventListener("submit", function () { saver.flush(); submitting = true; });
        window.addEventListener("beforeunload", function (e) {
          if (saver.dirty() && !submitting && (!saver.closed || saver.moved)) { saver.flush(); e.preventDefault(); e.returnValue = ""; }
        });
        document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { saver.flush(); } });
        window.addEventListener("pagehide", function () { saver.flush(); });
        // Just before the deadline, save whatever is there: that is what the server submits.
        var box = document.querySelector(".countdown[data-deadline]");
        var deadline = box ? Date.parse(box.getAttribute("data-deadline")) : NaN;
        if (!isNaN(deadline)) {
          var wait = deadline - Date.now() - 8000;
          if (wait > 0 && wait < 2147483647) { window.setTimeout(function () { if (saver.dirty()) { saver.save(); } }, wait); }
        }
      }
      new Live(ws, tabset, files).start();
    }
    // The done page, while the server is still submitting the last saved work.
    var waiting = document.querySelector("[data-reload-while-pending]");
    if (waiting) {
      // A few reloads (the job runs each minute), counted across them, then the page rests.
      var tries = parseInt(window.sessionStorage.getItem("heldout-done-reloads") || "0", 10);
      if (tries < 12) {
        window.setTimeout(function () {
          window.sessionStorage.setItem("heldout-done-reloads", String(tries + 1));
          window.location.reload();
        }, 10000);
      }
    }
  });
})();
