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

  function $(root, sel) { return root.querySelector(sel); }
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 5) { return "just now"; }
    if (s < 60) { return s + " s ago"; }
    var m = Math.floor(s / 60);
    return m + " min ago";
  }

  // ---- editor and files -------------------------------------------------------------
  function Files(ws, form, onChange) {
    this.ws = ws; this.form = form; this.onChange = onChange;
    this.holder = $(form, ".js-editor-files");
    this.entries = [];
    this.several = ws.getAttribute("data-several") === "yes";
    this.allowed = (ws.getAttribute("data-allowed") || "").split(" ").filter(Boolean);
    this.maxFiles = parseInt(ws.getAttribute("data-max-files"), 10) || 1;
    var self = this;
    all(this.holder, ".js-editor-file").forEach(function (box, i) { self.adopt(box, i === 0); });
    this.tabs();
  }

  Files.prototype.adopt = function (box, main) {
    var textarea = $(box, "textarea");
    var name = box.getAttribute("data-name");
    var entry = { name: name, box: box, textarea: textarea, main: main, editor: null };
    if (window.HeldoutEditor && !textarea.readOnly) {
      var mount = document.createElement("div");
      mount.className = "cm-mount";
      textarea.hidden = true;
      textarea.insertAdjacentElement("afterend", mount);
      var label = $(box, "label");
      if (label) { label.removeAttribute("for"); label.id = "label-" + Math.random().toString(36).slice(2); }
      var self = this;
      entry.editor = window.HeldoutEditor.create(mount, {
        doc: textarea.value, mode: window.HeldoutEditor.modeFor(name),
        label: "Code editor: " + name,
        onChange: function (text) { textarea.value = text; self.onChange(); }
      });
    } else {
      var that = this;
      textarea.addEventListener("input", function () { that.onChange(); });
    }
    this.entries.push(entry);
    return entry;
  };

  Files.prototype.values = function () {
    return this.entries.map(function (e) {
      return { name: e.name, content: e.editor ? e.editor.getValue() : e.textarea.value };
    });
  };

  Files.prototype.show = function (entry) {
    this.entries.forEach(function (e) {
      e.box.hidden = e !== entry;
      if (e.tab) { e.tab.setAttribute("aria-selected", e === entry ? "true" : "false"); e.tab.tabIndex = e === entry ? 0 : -1; }
    });
    this.current = entry;
  };

  Files.prototype.tabs = function () {
    if (!this.several && this.entries.length < 2) { return; }
    var self = this;
    var bar = document.createElement("div");
    bar.className = "file-tabs";
    var list = document.createElement("div");
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", "Your files");
    bar.appendChild(list);
    this.list = list;
    if (this.several) {
      var add = document.createElement("button");
      add.type = "button"; add.className = "link js-add-file"; add.textContent = "+ Add file";
      add.addEventListener("click", function () { self.addFile(); });
      bar.appendChild(add);
    }
    this.holder.insertAdjacentElement("beforebegin", bar);
    this.entries.forEach(function (e) { self.tabFor(e); });
    list.addEventListener("keydown", function (ev) {
      var i = self.entries.indexOf(self.current);
      if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        ev.preventDefault();
        var next = self.entries[(i + (ev.key === "ArrowRight" ? 1 : -1) + self.entries.length) % self.entries.length];
        self.show(next); next.tab.focus();
      }
    });
    this.show(this.entries[0]);
  };

  Files.prototype.tabFor = function (entry) {
    var self = this;
    var tab = document.createElement("button");
    tab.type = "button"; tab.setAttribute("role", "tab"); tab.className = "file-tab mono";
    tab.textContent = entry.name;
    tab.addEventListener("click", function () { self.show(entry); });
    entry.tab = tab;
    this.list.appendChild(tab);
    var label = $(entry.box, "label");
    if (label) { label.classList.add("sr-only"); }
    if (!entry.main) {
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "link small remove-file";
      remove.textContent = "Remove " + entry.name;
      remove.addEventListener("click", function () { self.removeFile(entry); });
      entry.box.appendChild(remove);
    }
  };

  Files.prototype.accepts = function (name) {
    return this.allowed.some(function (pattern) {
      var re = new RegExp("^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, ".") + "$");
      return re.test(name) || re.test(name.split("/").pop());
    });
  };

  Files.prototype.addFile = function () {
    if (this.entries.length >= this.maxFiles) { window.alert("This challenge takes at most " + this.maxFiles + " files."); return; }
    var name = window.prompt("Name of the new file (accepted: " + this.allowed.join(", ") + ")", "helpers.py");
    if (!name) { return; }
    name = name.trim();
    if (!this.accepts(name) || name.indexOf("..") >= 0 || name.charAt(0) === "." || name.charAt(0) === "/") { window.alert(name + " is not a file this challenge accepts."); return; }
    if (this.entries.some(function (e) { return e.name === name; })) { window.alert(name + " is already open."); return; }
    var box = document.createElement("div");
    box.className = "editor-file js-editor-file";
    box.setAttribute("data-name", name);
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = "extra_name"; hidden.value = name;
    var id = "extra-new-" + this.entries.length;
    var label = document.createElement("label");
    label.className = "mono file-label"; label.htmlFor = id; label.textContent = name;
    var textarea = document.createElement("textarea");
    textarea.id = id; textarea.name = "extra_code"; textarea.className = "code-editor"; textarea.rows = 14;
    textarea.spellcheck = false;
    box.appendChild(hidden); box.appendChild(label); box.appendChild(textarea);
    this.holder.appendChild(box);
    var entry = this.adopt(box, false);
    this.tabFor(entry);
    this.show(entry);
    if (entry.editor) { entry.editor.focus(); } else { textarea.focus(); }
    this.onChange();
  };

  Files.prototype.removeFile = function (entry) {
    if (!window.confirm("Remove " + entry.name + " from your solution?")) { return; }
    if (entry.editor) { entry.editor.destroy(); }
    entry.box.remove(); entry.tab.remove();
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.show(this.entries[0]);
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
        self.problem = "Not saved: " + res.data.detail + (res.data.hint ? " " + res.data.hint : "");
      } else if (res.r.status === 409) {
        self.closed = true; self.savedVersion = self.version;
        self.problem = "Time is up: the server keeps your last saved work and submits it.";
      } else if (res.r.status === 429) {
        self.holdUntil = Date.now() + 1000 * (parseInt(res.r.headers.get("Retry-After"), 10) || 10);
        self.problem = "Saving paused for a moment (too many saves); your text is still here.";
      } else {
        self.holdUntil = Date.now() + 5000;
        self.problem = "Not saved: " + (res.data.detail || ("error " + res.r.status)) + (res.data.hint ? " " + res.data.hint : "");
      }
      self.render();
    }).catch(function () {
      self.inFlight = false; self.holdUntil = Date.now() + 3000;
      self.problem = "Not saved: the server can't be reached. Retrying; keep this page open.";
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
    else if (this.inFlight) { text = "Saving…"; }
    else if (this.dirty()) { text = "Unsaved changes"; }
    else if (this.savedAt) { text = "Saved " + ago(Date.now() - this.savedAt); }
    else { text = out.getAttribute("data-initial") || out.textContent; }
    // Only a change of meaning is announced, not every tick of "3 s ago".
    var kind = this.problem ? "problem" : this.inFlight ? "saving" : this.dirty() ? "dirty" : "saved";
    if (out.getAttribute("data-kind") !== kind) { out.setAttribute("aria-live", "polite"); }
    else { out.setAttribute("aria-live", "off"); }
    out.setAttribute("data-kind", kind);
    out.classList.toggle("save-problem", !!this.problem);
    if (out.textContent !== text) { out.textContent = text; }
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
  function Live(ws, tabset) {
    this.ws = ws; this.tabset = tabset;
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
    if (!window.EventSource) { this.poll(); return; }
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
        holder.textContent = "";
        holder.appendChild(fresh);
        var output = $(fresh, ".run-output");
        var target = $(self.ws, ".js-output");
        if (output && target) {
          target.textContent = "";
          all(output, "h4, pre, p").forEach(function (el) { target.appendChild(el.cloneNode(true)); });
          var note = document.createElement("p"); note.className = "muted small";
          note.textContent = "Long output is cut: only its last part is kept.";
          target.appendChild(note);
        }
      })
      .catch(function () { /* the next event tries again */ self.runShown = null; });
  };

  // ---- page wiring ------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    var ws = document.querySelector(".js-workspace");
    if (ws) {
      var tabset = tabs($(ws, ".js-tabs"));
      var form = $(ws, ".js-editor-form");
      var indicator = $(ws, ".js-save-state");
      if (indicator) { indicator.setAttribute("data-initial", indicator.textContent); }
      var saver = null;
      var files = form && $(form, ".js-editor-files")
        ? new Files(ws, form, function () { if (saver) { saver.changed(); } }) : null;
      if (files && ws.getAttribute("data-draft-url")) {
        saver = new Autosave(ws, files, indicator);
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
      new Live(ws, tabset).start();
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
