/* Recruiter pages: live catalogue filter in the builder; reload after a links download. */
(function () {
  "use strict";

  function catalogueFilter(form) {
    var cards = document.querySelectorAll(".cards .card[data-kind]");
    var count = document.querySelector(".js-filter-count");
    var empty = document.querySelector(".js-filter-empty");
    var submit = form.querySelector(".js-filter-submit");
    if (submit) { submit.hidden = true; }
    function value(name) { var el = form.querySelector("[data-filter=" + name + "]"); return el ? el.value : ""; }
    function apply() {
      var kind = value("kind"), skill = value("skill").toLowerCase(), difficulty = value("difficulty");
      var shown = 0;
      cards.forEach(function (card) {
        var box = card.querySelector("input[type=checkbox]");
        var skills = (card.getAttribute("data-skills") || "").split("|");
        var match = (!kind || card.getAttribute("data-kind") === kind) &&
          (!difficulty || card.getAttribute("data-difficulty") === difficulty) &&
          (!skill || skills.indexOf(skill) !== -1);
        // A chosen challenge stays visible: hiding it would hide what will be saved.
        card.hidden = !(match || (box && box.checked));
        if (match) { shown += 1; }
      });
      if (count) { count.textContent = "Showing " + shown + " of " + cards.length + " challenges."; }
      if (empty) { empty.hidden = shown !== 0; }
    }
    form.querySelectorAll("[data-filter]").forEach(function (el) { el.addEventListener("change", apply); });
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  }

  function chosenList(list) {
    var empty = document.querySelector(".js-chosen-empty");
    var boxes = document.querySelectorAll("input[name=challenges][data-title]");
    function update() {
      list.textContent = "";
      var count = 0;
      boxes.forEach(function (box) {
        if (!box.checked) { return; }
        var item = document.createElement("li");
        item.textContent = box.getAttribute("data-title") + " ";
        var minutes = document.createElement("span");
        minutes.className = "muted";
        minutes.textContent = (box.getAttribute("data-minutes") || "0") + " min";
        item.appendChild(minutes);
        list.appendChild(item);
        count += 1;
      });
      if (empty) { empty.hidden = count !== 0; }
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chosen = document.querySelector(".js-chosen-list");
    if (chosen) { chosenList(chosen); }
    var filter = document.getElementById("catalogue-filter");
    if (filter) { catalogueFilter(filter); }
    // The links CSV downloads in place; then the page shows the new invites.
    document.querySelectorAll("form.js-download-then-reload").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (button) { button.disabled = true; button.textContent = "Links downloaded"; }
        window.setTimeout(function () { window.location.assign(form.getAttribute("data-after") || window.location.pathname); }, 1500);
      });
    });
  });
}());
