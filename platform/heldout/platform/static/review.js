// Draft playback: with script, a slider steps through the snapshots one at a time;
// without it, the page lists every snapshot (nothing here is needed to read a report).
(function () {
  "use strict";
  function enhance(box) {
    var frames = Array.prototype.slice.call(box.querySelectorAll("ol.frames > li"));
    if (frames.length < 2) { return; }
    var controls = document.createElement("div");
    controls.className = "playback-controls";
    var label = document.createElement("label");
    var id = "playback-" + Math.random().toString(36).slice(2);
    label.htmlFor = id;
    label.textContent = "Snapshot";
    var range = document.createElement("input");
    range.type = "range"; range.id = id; range.min = "1"; range.max = String(frames.length);
    range.value = String(frames.length);
    var shown = document.createElement("output");
    shown.setAttribute("for", id);
    controls.appendChild(label); controls.appendChild(range); controls.appendChild(shown);
    box.querySelector("ol.frames").before(controls);
    function show() {
      var at = Number(range.value) - 1;
      frames.forEach(function (li, i) {
        li.hidden = i !== at;
        var inner = li.querySelector("details");
        if (inner && i === at) { inner.open = true; }
      });
      shown.textContent = (at + 1) + " of " + frames.length;
    }
    range.addEventListener("input", show);
    show();
    // An editor event's "draft before/after" link: open the playback at that snapshot.
    function follow() {
      var at = frames.findIndex(function (li) { return "#" + li.id === window.location.hash; });
      if (at < 0) { return; }
      box.open = true;
      range.value = String(at + 1);
      show();
      frames[at].scrollIntoView({ block: "nearest" });
    }
    window.addEventListener("hashchange", follow);
    follow();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("details.playback").forEach(enhance);
  });
})();
