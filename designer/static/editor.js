// The few things htmx cannot do in the flow editor: line numbers beside the textarea, moving the cursor
// to a diagnostic's line, opening the inspector for a clicked graph node, taking the newer text after a
// stale save. No framework, no build step.
(function () {
  "use strict";

  function source() { return document.getElementById("source"); }

  function renumber() {
    var text = source(), gutter = document.getElementById("gutter");
    if (!text || !gutter) return;
    var count = text.value.split("\n").length, lines = [];
    for (var i = 1; i <= count; i++) lines.push(i);
    gutter.textContent = lines.join("\n") + "\n";
    gutter.scrollTop = text.scrollTop;
  }

  // Select line `line` (1-based) of the textarea and scroll it into view.
  function gotoLine(line, column) {
    var text = source();
    if (!text) return;
    var lines = text.value.split("\n"), start = 0;
    line = Math.max(1, Math.min(line, lines.length));
    for (var i = 0; i < line - 1; i++) start += lines[i].length + 1;
    var end = start + lines[line - 1].length;
    text.focus();
    text.setSelectionRange(start, end);
    var lineHeight = parseFloat(getComputedStyle(text).lineHeight) || 18;
    text.scrollTop = Math.max(0, (line - 4) * lineHeight);
    renumber();
  }

  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "source") renumber();
  });
  document.addEventListener("scroll", function (event) {
    if (event.target && event.target.id === "source") {
      document.getElementById("gutter").scrollTop = event.target.scrollTop;
    }
  }, true);

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".goto-line");
    if (link) {
      event.preventDefault();
      gotoLine(parseInt(link.dataset.line, 10), parseInt(link.dataset.column || "1", 10));
      return;
    }
    var take = event.target.closest && event.target.closest(".take-server-text");
    if (take) {
      var server = document.getElementById("server-source"), text = source();
      text.value = server.value;
      document.getElementById("etag").value = take.dataset.etag;
      // Fire input so the live check and the line numbers follow the new text.
      text.dispatchEvent(new Event("input", { bubbles: true }));
      document.getElementById("save-status").textContent = "Took the newer text; your edits were replaced.";
      return;
    }
    var node = event.target.closest && event.target.closest("#graph [data-node-id]");
    if (node) {
      document.querySelectorAll("#graph .selected").forEach(function (el) { el.classList.remove("selected"); });
      node.classList.add("selected");
      var form = document.getElementById("inspect-form");
      if (form) {
        document.getElementById("inspect-node").value = node.dataset.nodeId;
        htmx.trigger(form, "inspect");
      }
    }
  });

  document.addEventListener("htmx:afterSettle", renumber);
  document.addEventListener("DOMContentLoaded", renumber);
})();
