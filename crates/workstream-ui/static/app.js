// Workstream web UI: progressive enhancement only. Every page works without this file.
//
// * Review: clicking a line number cites that line in the finding (or evidence row)
//   being edited; "Cite in a finding" under a checker finding fills a finding row from
//   it without reloading (the link itself does the same through the server); "Add a
//   finding" adds a row; a #L<n> anchor scrolls the line into view.
// * Upload: shows that the packet is being sent and checked, and disables the button
//   so a second click does not send it again.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    enhanceReview();
    enhanceUpload();
  });

  function enhanceReview() {
    var form = document.querySelector("form[data-decision]");
    var viewer = document.querySelector(".code-view");
    if (!form) return;
    var current = null;
    form.addEventListener("focusin", function (e) {
      var row = e.target.closest("[data-row]");
      if (!row) return;
      if (current) current.classList.remove("active");
      current = row;
      row.classList.add("active");
    });
    if (viewer) {
      var path = viewer.getAttribute("data-path");
      viewer.addEventListener("click", function (e) {
        var link = e.target.closest("a[data-line]");
        if (!link) return;
        var row = current || form.querySelector(".findings-rows [data-row]");
        if (!row) return;
        e.preventDefault();
        var p = row.querySelector("[data-evidence-path]");
        var l = row.querySelector("[data-evidence-line]");
        if (p) p.value = path;
        if (l) l.value = link.getAttribute("data-line");
        history.replaceState(null, "", "#L" + link.getAttribute("data-line"));
        flash(link.closest("tr"));
      });
    }
    document.addEventListener("click", function (e) {
      var cite = e.target.closest("a.cite");
      if (!cite) return;
      var row = emptyFindingRow(form);
      if (!row) return;
      e.preventDefault();
      var set = function (suffix, value) {
        var field = row.querySelector('[name$=".' + suffix + '"]');
        if (field) field.value = value || "";
      };
      set("kind", cite.getAttribute("data-kind"));
      set("area", cite.getAttribute("data-area"));
      set("issue", cite.getAttribute("data-issue"));
      set("required_fix", cite.getAttribute("data-fix"));
      set("path", cite.getAttribute("data-path"));
      set("line", cite.getAttribute("data-line"));
      if (current) current.classList.remove("active");
      current = row;
      row.classList.add("active");
      row.scrollIntoView({ block: "center" });
      flash(row);
    });
    form.querySelectorAll("fieldset[data-rows]").forEach(function (set) {
      var add = document.createElement("button");
      add.type = "button";
      add.className = "quiet";
      add.textContent = set.getAttribute("data-rows") === "finding" ? "Add a finding" : "Add evidence";
      add.addEventListener("click", function () {
        var rows = set.querySelectorAll("[data-row]");
        var last = rows[rows.length - 1];
        var copy = last.cloneNode(true);
        var next = rows.length;
        copy.querySelectorAll("input, textarea, select").forEach(function (field) {
          field.name = field.name.replace(/\.(\d+)\./, "." + next + ".");
          if (field.tagName === "SELECT") field.selectedIndex = 0;
          else field.value = "";
        });
        copy.classList.remove("active");
        set.insertBefore(copy, add);
        var first = copy.querySelector("input, textarea");
        if (first) first.focus();
      });
      set.appendChild(add);
    });
  }

  // The first finding row with no issue yet, adding one if every row is in use.
  function emptyFindingRow(form) {
    var rows = form.querySelectorAll(".findings-rows [data-row]");
    for (var i = 0; i < rows.length; i++) {
      var issue = rows[i].querySelector('[name$=".issue"]');
      if (issue && !issue.value.trim()) return rows[i];
    }
    var add = form.querySelector(".findings-rows > button");
    if (!add) return null;
    add.click();
    rows = form.querySelectorAll(".findings-rows [data-row]");
    return rows[rows.length - 1];
  }

  function flash(tr) {
    if (!tr) return;
    tr.classList.add("flash");
    setTimeout(function () { tr.classList.remove("flash"); }, 900);
  }

  function enhanceUpload() {
    var form = document.querySelector("form[data-upload]");
    if (!form) return;
    form.addEventListener("submit", function () {
      // The packet streams to the server, which checks it before answering: say so,
      // and keep a second click from sending it twice.
      var bar = form.querySelector("progress");
      if (bar) { bar.hidden = false; bar.removeAttribute("value"); }
      var button = form.querySelector("button[type=submit]");
      if (button) {
        setTimeout(function () { button.disabled = true; }, 0);
        button.textContent = "Uploading and checking…";
      }
    });
  }
})();
