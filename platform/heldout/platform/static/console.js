// The run console (templates/candidate/_console.html): sends the editor's text with the
// typed input, then follows the run through the workspace's live state (workspace.js) and
// swaps in the result block the server renders (escaped there).
(function () {
  "use strict";

  // The page's words in its language (heldout.js; i18n.JS_MESSAGES); English without it.
  var t = window.heldoutText || function (text) { return text; };

  function $(root, sel) { return root.querySelector(sel); }
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  function hidden(form, name, value) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    input.className = "js-console-copy";
    form.appendChild(input);
  }

  // What the editor holds now goes with the run (the server falls back to the saved draft).
  function copyEditor(ws, form) {
    all(form, ".js-console-copy").forEach(function (el) { el.remove(); });
    var editor = $(ws, ".js-editor-form");
    var code = editor ? $(editor, "textarea[name='code']") : null;
    if (!code) { return; }
    hidden(form, "code", code.value);
    var main = $(editor, "input[name='code_name']");
    if (main) { hidden(form, "code_name", main.value); }
    var names = all(editor, "input[name='extra_name']");
    var texts = all(editor, "textarea[name='extra_code']");
    names.forEach(function (n, i) {
      if (texts[i]) { hidden(form, "extra_name", n.value); hidden(form, "extra_code", texts[i].value); }
    });
  }

  function Console(ws, box) {
    this.ws = ws; this.box = box;
    this.base = ws.getAttribute("data-public-run-base");
    var run = $(box, ".console-run");
    this.id = run ? run.getAttribute("data-console-run-id") : null;
    this.status = run ? run.getAttribute("data-console-run-status") : null;
  }

  Console.prototype.follow = function (state) {
    var run = state.console_run;
    if (!run || (String(run.id) === String(this.id) && run.status === this.status)) { return; }
    this.id = run.id; this.status = run.status;
    var self = this;
    fetch(this.base + run.id, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (s) {
        var holder = $(self.box, ".js-console-run-holder");
        var scratch = document.createElement("div");
        scratch.innerHTML = s.html;
        var fresh = $(scratch, ".console-run");
        if (!holder || !fresh) { return; }
        fresh.removeAttribute("data-public-run-url");  // the live state follows it now
        holder.textContent = "";
        holder.appendChild(fresh);
      })
      .catch(function () { self.status = null; /* the next state tries again */ });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var ws = document.querySelector(".js-workspace");
    var box = ws ? $(ws, ".console") : null;
    if (!box) { return; }
    var form = $(box, ".js-console-form");
    if (form) {
      form.addEventListener("submit", function () {
        copyEditor(ws, form);
        var button = $(form, "button[type='submit']");
        if (button) { button.disabled = true; button.textContent = t("Starting…"); }
      });
    }
    var follower = new Console(ws, box);
    ws.addEventListener("heldout:state", function (e) { follower.follow(e.detail); });
  });
})();
