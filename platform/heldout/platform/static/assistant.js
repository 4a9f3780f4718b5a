// The workspace's AI assistant panel (templates/candidate/_assistant.html): sends the question
// to the server (which alone talks to the model server), shows the answer or why there is
// none, and the tokens left. Text is always set as text, never as HTML.
(function () {
  "use strict";

  // The page's words in its language (heldout.js; i18n.JS_MESSAGES); English without it.
  var t = window.heldoutText || function (text) { return text; };

  function turn(list, role, text) {
    var item = document.createElement("li");
    item.className = "ai-turn ai-" + role;
    var who = document.createElement("p");
    who.className = "ai-who";
    who.textContent = { candidate: t("You"), assistant: t("Assistant"), error: t("No answer") }[role];
    var body = document.createElement("pre");
    body.className = "ai-text";
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    list.appendChild(item);
    return item;
  }

  function showBudget(box, left, budget) {
    var out = box.querySelector(".js-ai-budget");
    if (!out) { return; }
    out.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = left.toLocaleString("en");
    out.appendChild(strong);
    out.appendChild(document.createTextNode(" of " + budget.toLocaleString("en") + " tokens left"));
  }

  function enhance(box) {
    var form = box.querySelector(".js-ai-form");
    var list = box.querySelector(".js-ai-turns");
    var alert = box.querySelector(".js-ai-error");
    var ws = document.querySelector(".js-workspace");
    if (!form || !list || !alert) { return; }
    var field = form.querySelector("textarea");
    var button = form.querySelector(".js-ai-ask");
    var waiting = form.querySelector(".js-ai-waiting");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = field.value.trim();
      if (!question) { field.focus(); return; }
      alert.hidden = true;
      button.disabled = true;
      waiting.textContent = "Waiting for the assistant (up to " + box.getAttribute("data-timeout") + " s)…";
      var empty = box.querySelector(".js-ai-empty");
      if (empty) { empty.remove(); }
      var asked = turn(list, "candidate", question);
      field.value = "";
      var headers = { "Content-Type": "application/json", "Accept": "application/json" };
      if (ws && ws.getAttribute("data-csrf")) { headers["X-CSRFToken"] = ws.getAttribute("data-csrf"); }
      fetch(form.getAttribute("action"), {
        method: "POST", credentials: "same-origin", headers: headers,
        body: JSON.stringify({ question: question })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return { ok: response.ok, status: response.status, body: body };
        });
      }).then(function (result) {
        var body = result.body || {};
        if (result.ok) {
          turn(list, "assistant", body.answer || "");
          showBudget(box, body.left, body.budget);
          if (body.left <= 0) { form.hidden = true; }
          return;
        }
        var words = [body.title, body.detail, body.hint].filter(Boolean).join(". ").replace(/\.\./g, ".");
        if (result.status === 502) {
          turn(list, "error", body.detail || t("The assistant did not answer."));
        } else {
          asked.remove();  // refused before it was sent: the question is still yours to send
          field.value = question;
        }
        alert.textContent = words || t("The assistant could not answer (HTTP %(status)s).", { status: result.status });
        alert.hidden = false;
      }).catch(function () {
        asked.remove();
        field.value = question;
        alert.textContent = t("The server could not be reached. Check your connection and ask again.");
        alert.hidden = false;
      }).then(function () {
        button.disabled = false;
        waiting.textContent = "";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".js-assistant").forEach(enhance);
  });
})();
