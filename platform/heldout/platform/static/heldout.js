// heldout: small progressive enhancements (countdown, live status, copy, confirm).
// The pages work without it; no external scripts (CSP: script-src 'self').
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // The page's words for what this script writes, in the page's language: a candidate
  // page carries them (data-messages, from i18n.JS_MESSAGES); elsewhere the English stands.
  var messages = null;
  function t(text, values) {
    if (messages === null) {
      try { messages = JSON.parse(document.body.getAttribute("data-messages") || "{}"); } catch (e) { messages = {}; }
    }
    var out = messages[text] || text;
    Object.keys(values || {}).forEach(function (k) { out = out.split("%(" + k + ")s").join(String(values[k])); });
    return out;
  }
  window.heldoutText = t;

  function announce(box, text) {
    // A visible notice at the top of the page, also a polite live region: screen readers
    // hear each warning once, not every tick of the clock.
    var note = document.querySelector(".js-countdown-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "notice deadline-notice js-countdown-note";
      note.setAttribute("role", "status");
      var main = document.getElementById("main");
      if (main) { main.insertBefore(note, main.firstChild); } else { box.appendChild(note); }
    }
    note.textContent = text;
    note.classList.toggle("notice-error", box.classList.contains("urgent"));
    box.title = text;
  }

  function startCountdown(box) {
    var deadline = Date.parse(box.getAttribute("data-deadline"));
    var out = box.querySelector(".js-countdown");
    var label = box.querySelector(".js-countdown-label");
    if (!out || isNaN(deadline)) { return; }
    if (label) { label.textContent = t("Time left"); }
    // A notice only makes sense well inside the time allowed: a 5-minute attempt gets the
    // 2-minute notice alone, never "10 minutes left" as it starts.
    var allowed = (deadline - Date.parse(box.getAttribute("data-started") || "")) / 1000;
    var warned10 = !(allowed > 900), warned2 = !(allowed > 180);
    if (isNaN(allowed)) { warned10 = warned2 = false; }
    function tick() {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      out.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
      var saved = document.querySelector(".js-save-state") ? t("Your work is saved as you type and submitted for you when the time ends.") : "";
      if (left <= 600 && left > 120 && !warned10) { warned10 = true; box.classList.add("warn"); announce(box, t("10 minutes left.") + " " + (saved || t("Submit your latest work before the time ends."))); }
      if (left <= 120 && !warned2) { warned2 = warned10 = true; box.classList.add("warn", "urgent"); announce(box, t("2 minutes left.") + " " + (saved || t("Submit your work now."))); }
      if (left === 0 && box.hasAttribute("data-late-note")) {
        // A follow-up question: the answer is still taken (marked late); keep the typing.
        box.classList.add("warn", "urgent");
        announce(box, box.getAttribute("data-late-note"));
        return;
      }
      if (left === 0) {
        // The server enforces the deadline; reloading shows what it decided.
        window.setTimeout(function () { window.location.reload(); }, 1500);
        return;
      }
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  // A candidate may hide the countdown (kept per browser); the warnings still show.
  function countdownToggle(button) {
    var box = document.querySelector(".countdown");
    if (!box) { return; }
    var key = "heldout.countdown.hidden";
    function show(hidden) {
      box.classList.toggle("countdown-hidden", hidden);
      button.setAttribute("aria-pressed", hidden ? "true" : "false");
      button.textContent = hidden ? t("Show timer") : t("Hide timer");
    }
    var stored = false;
    try { stored = window.localStorage.getItem(key) === "1"; } catch (e) { stored = false; }
    show(stored);
    button.hidden = false;
    button.addEventListener("click", function () {
      var hidden = !box.classList.contains("countdown-hidden");
      show(hidden);
      try { window.localStorage.setItem(key, hidden ? "1" : "0"); } catch (e) { /* private mode */ }
    });
  }

  // A page that changes at a known moment (a break running out) reloads itself then.
  function reloadAt(element) {
    var at = Date.parse(element.getAttribute("data-reload-at"));
    if (isNaN(at)) { return; }
    window.setTimeout(function () { window.location.reload(); }, Math.max(0, at - Date.now()) + 1500);
  }

  function poll(item) {
    var url = item.getAttribute("data-status-url");
    var delay = 1500;
    function once() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (s) {
          var badge = item.querySelector(".js-status-badge .badge");
          if (badge) {
            badge.textContent = s.status.replace("_", " ");
            badge.className = "badge badge-" + s.status.replace("_", "-");
          }
          var msg = item.querySelector(".js-status-message");
          if (msg) { msg.textContent = s.message + (s.elapsed_seconds !== null ? " (" + s.elapsed_seconds + " s)" : ""); }
          var score = item.querySelector(".js-status-score");
          if (score) { score.textContent = s.score !== null ? "score " + (Math.round(s.score * 10) / 10) : ""; }
          if (!s.final) { window.setTimeout(once, delay); }
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); window.setTimeout(once, delay); });
    }
    once();
  }

  function pollPublicRun(block) {
    // The server renders the results block (escaped there); it replaces this one whenever
    // the status moves, and polling goes on from the new block until the run is final.
    var url = block.getAttribute("data-public-run-url");
    var delay = 1500, shown = null;
    function once() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (s) {
          if (s.status !== shown || s.final) {
            shown = s.status;
            var holder = document.createElement("div");
            holder.innerHTML = s.html;
            var fresh = holder.querySelector(".public-run");
            if (fresh) { block.replaceWith(fresh); block = fresh; localTimes(fresh); }
          } else {
            var msg = block.querySelector(".js-status-message");
            if (msg) { msg.textContent = s.message + (s.elapsed_seconds !== null ? " (" + s.elapsed_seconds + " s)" : ""); }
          }
          if (!s.final) { window.setTimeout(once, delay); }
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); window.setTimeout(once, delay); });
    }
    once();
  }

  function copyButton(button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      input.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) { navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); }); }
      else { document.execCommand("copy"); done(); }
    });
  }

  function summedMinutes() {
    var out = document.querySelector(".js-summed-minutes");
    if (!out) { return; }
    var boxes = document.querySelectorAll("input[name=challenges][data-minutes]");
    function update() {
      var total = 0;
      boxes.forEach(function (b) { if (b.checked) { total += parseInt(b.getAttribute("data-minutes"), 10) || 0; } });
      out.textContent = String(total);
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }

  // Every time is printed in UTC; beside it, the same moment in the browser's own zone
  // (nothing added when that zone is UTC). Without the script the UTC text stands alone.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.getAttribute("data-local") !== null) { return; }
      var raw = el.getAttribute("datetime");
      if (!/(Z|[+-]00:?00)$/.test(raw)) { return; }  // only moments stored in UTC
      var moment = new Date(raw);
      if (isNaN(moment.getTime()) || moment.getTimezoneOffset() === 0) { return; }
      var withDate = /\d{4}|[A-Z][a-z]{2}/.test(el.textContent);
      var options = { hour: "2-digit", minute: "2-digit" };
      if (withDate) { options.day = "numeric"; options.month = "short"; }
      var local = document.createElement("span");
      local.className = "local-time muted small";
      local.textContent = " (" + t("%(time)s your time", { time: moment.toLocaleString(undefined, options) }) + ")";
      el.setAttribute("data-local", "");
      el.parentNode.insertBefore(local, el.nextSibling);
    });
  }
  window.heldoutLocalTimes = localTimes;

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    document.querySelectorAll("[data-deadline]").forEach(startCountdown);
    document.querySelectorAll(".js-countdown-toggle").forEach(countdownToggle);
    document.querySelectorAll("[data-reload-at]").forEach(reloadAt);
    // In the workspace, workspace.js follows these by server-sent events (or polls).
    var live = function (el) { return !el.closest(".js-workspace"); };
    Array.prototype.filter.call(document.querySelectorAll("[data-status-url]"), live).forEach(poll);
    Array.prototype.filter.call(document.querySelectorAll("[data-public-run-url]"), live).forEach(pollPublicRun);
    document.querySelectorAll(".js-copy").forEach(copyButton);
    document.querySelectorAll("form.js-confirm").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
    document.querySelectorAll(".js-back").forEach(function (b) {
      // Only when the visitor came from a page of this site (the referrer policy keeps
      // other sites' addresses out): a link opened from an e-mail has nowhere to go back to.
      if (!document.referrer || window.history.length < 2) { return; }
      b.hidden = false;
      b.addEventListener("click", function () { window.history.back(); });
    });
    var code = document.querySelector("textarea.code-editor");
    if (code) {
      // Tab inserts four spaces instead of leaving the editor (Esc then Tab leaves).
      var escaped = false;
      code.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { escaped = true; return; }
        if (e.key === "Tab" && !e.shiftKey && !escaped && !code.readOnly) {
          e.preventDefault();
          var s = code.selectionStart;
          code.setRangeText("    ", s, code.selectionEnd, "end");
        }
        escaped = false;
      });
    }
    summedMinutes();
  });
})();
