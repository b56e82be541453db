// Sortable tables: a header's button sorts its column on the cells' data-sort values (raw
// numbers) or their text, and tells assistive technology through aria-sort.
(function () {
  "use strict";
  function key(row, column) {
    var cell = row.cells[column];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    return raw === null ? cell.textContent.trim() : raw;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = rows.every(function (row) { var k = key(row, column); return k !== "" && !isNaN(Number(k)); });
        rows.sort(function (a, b) {
          var x = key(a, column), y = key(b, column);
          var order = numeric ? (Number(x) > Number(y)) - (Number(x) < Number(y)) : x.localeCompare(y);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();

// A link to a configuration opens it (and whatever holds it): the sections are <details>, closed
// until asked for.
(function () {
  "use strict";
  function reveal() {
    var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    if (target) target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  reveal();
})();

// Configuration filters (dtype, quantity, path, target, verdict) and expand/collapse all.
(function () {
  "use strict";
  var form = document.getElementById("config-filters");
  if (!form) return;
  var sections = Array.prototype.slice.call(document.querySelectorAll("details.config"));
  var count = document.getElementById("filter-count");
  function apply() {
    var wanted = {};
    form.querySelectorAll("select").forEach(function (s) { if (s.value) wanted[s.dataset.field] = s.value; });
    var shown = 0;
    sections.forEach(function (d) {
      var keep = Object.keys(wanted).every(function (f) { return d.dataset[f] === wanted[f]; });
      d.hidden = !keep;
      if (keep) shown += 1;
    });
    count.textContent = shown + " of " + sections.length + " configurations shown";
  }
  form.querySelectorAll("select").forEach(function (s) { s.addEventListener("change", apply); });
  window.addEventListener("beforeprint", function () { sections.forEach(function (d) { d.open = true; }); });
  form.querySelectorAll("button[data-details]").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.dataset.details === "open";
      sections.forEach(function (d) { if (!d.hidden) d.open = open; });
    });
  });
  apply();
})();
