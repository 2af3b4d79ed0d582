/* socbench scorecard: table controls and charts. Sets text only, never markup. */
(function () {
  "use strict";

  var config = readConfig();
  var views = [];

  function readConfig() {
    var element = document.getElementById("page-config");
    return element ? JSON.parse(element.textContent) : {};
  }

  function each(selector, callback, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), callback);
  }

  /* ---------------------------------------------------------------- index: picker, colours, sorting */

  function showMetric(metric) {
    each("section.score-table", function (section) {
      section.hidden = section.getAttribute("data-metric") !== metric;
    });
  }

  function setColourMode(mode) {
    var tables = document.getElementById("score-tables");
    if (!tables) return;
    tables.classList.toggle("colour-relative", mode === "relative");
    tables.classList.toggle("colour-absolute", mode !== "relative");
    document.body.classList.toggle("relative", mode === "relative");
  }

  function sortKey(row, column, kind) {
    var cell = row.children[column];
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (kind === "text") return raw === null ? "" : raw.toLowerCase();
    var value = raw === null ? NaN : parseFloat(raw);
    return isNaN(value) ? null : value;
  }

  function sortTable(button) {
    var table = button.closest("table");
    var header = button.closest("th");
    var column = parseInt(button.getAttribute("data-column"), 10);
    var kind = button.getAttribute("data-kind");
    var current = header.getAttribute("aria-sort");
    var firstDirection = kind === "number" && column > 0 ? "descending" : "ascending";
    var direction = current === firstDirection ? (firstDirection === "ascending" ? "descending" : "ascending") : firstDirection;
    var body = table.querySelector("tbody.models");
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (left, right) {
      var a = sortKey(left, column, kind), b = sortKey(right, column, kind);
      if (a === null && b === null) return 0;
      if (a === null) return 1;  // not assessable: always last
      if (b === null) return -1;
      return a < b ? -sign : a > b ? sign : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    each("thead th", function (th) { th.removeAttribute("aria-sort"); }, table);
    header.setAttribute("aria-sort", direction);
  }

  function setUpIndex() {
    var picker = document.getElementById("metric-picker");
    if (!picker) return;
    picker.addEventListener("change", function () { showMetric(picker.value); });
    showMetric(picker.value);
    each("input[name=colour-mode]", function (input) {
      input.addEventListener("change", function () { if (input.checked) setColourMode(input.value); });
    });
    each("button.sort", function (button) {
      button.addEventListener("click", function () { sortTable(button); });
    });
  }

  /* ---------------------------------------------------------------- charts */

  function datasets(keys) {
    var store = window.socbenchData || {};
    var out = { importance: [], response: [], envelope_importance: [], envelope_response: [] };
    keys.forEach(function (key) {
      var group = store[key];
      if (!group) return;
      Object.keys(group).forEach(function (name) {
        var table = group[name];
        var target = out[name] || (out[name] = []);
        table.rows.forEach(function (row) {
          var record = {};
          table.columns.forEach(function (column, i) { record[column] = row[i]; });
          target.push(record);
        });
      });
    });
    return out;
  }

  function copyData(data) {
    var copy = {};
    Object.keys(data).forEach(function (name) {
      copy[name] = data[name].map(function (row) { return Object.assign({}, row); });
    });
    return copy;
  }

  function currentParams() {
    var params = { hidden: hiddenSeries() };
    var region = document.getElementById("region-picker");
    if (region) params.region = region.value;
    each("select.pair-picker", function (select) { params[select.getAttribute("data-side")] = select.value; });
    return params;
  }

  function hiddenSeries() {
    var toggles = document.querySelectorAll("input.series-toggle");
    if (!toggles.length) return config.hidden || [];
    var hidden = [];
    each("input.series-toggle", function (input) { if (!input.checked) hidden.push(input.value); });
    return hidden;
  }

  function drawCharts() {
    if (!config.charts || !config.charts.length) return;
    var placeholderText = "This chart needs the bundled Vega library (assets/vega-bundle.js), which did not load.";
    if (typeof window.vegaEmbed !== "function") {
      each(".chart-placeholder", function (p) { p.textContent = placeholderText; });
      return;
    }
    var data = datasets(config.data || []);
    var params = currentParams();
    config.charts.forEach(function (chart) {
      var element = document.getElementById(chart.id);
      if (!element) return;
      var spec = JSON.parse(JSON.stringify(chart.spec));
      spec.datasets = copyData(data);
      (spec.params || []).forEach(function (param) {
        if (Object.prototype.hasOwnProperty.call(params, param.name)) param.value = params[param.name];
      });
      window.vegaEmbed(element, spec, { actions: false, renderer: "svg", mode: "vega-lite" })
        .then(function (result) {
          var entry = { view: result.view, params: (spec.usermeta || {}).params || [],
                        values: (spec.usermeta || {}).values, id: chart.id };
          views.push(entry);
          listValues(entry);
        })
        .catch(function (error) {
          element.textContent = "The chart could not be drawn: " + error.message;
        });
    });
  }

  function updateCharts() {
    var params = currentParams();
    views.forEach(function (entry) {
      entry.params.forEach(function (name) {
        if (Object.prototype.hasOwnProperty.call(params, name)) entry.view.signal(name, params[name]);
      });
      entry.view.runAsync().then(function () { listValues(entry); });
    });
  }

  /* ---------------------------------------------------------------- values tables (keyboard access to the marks) */

  function formatNumber(value, digits) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    return Number(value).toFixed(digits).replace("-", "−");
  }

  function formatDriverValue(value) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    var magnitude = Math.abs(value);
    var text = magnitude !== 0 && (magnitude >= 1e4 || magnitude < 1e-3) ? Number(value).toExponential(2)
      : String(Number(Number(value).toPrecision(3)));
    return text.replace("-", "−");
  }

  /* Items of the mark named `name` in the rendered scenegraph: exactly what the chart draws. */
  function markItems(view, name) {
    var found = [];
    (function walk(node) {
      if (!node) return;
      if (node.marktype && node.name === name) {
        (node.items || []).forEach(function (item) { if (item.datum) found.push(item.datum); });
        return;
      }
      (node.items || []).forEach(walk);
    }(view.scenegraph().root));
    return found;
  }

  function valueRows(entry) {
    var meta = entry.values;
    var driver = function (datum) {
      return meta.driver ? meta.driver + " at " + formatDriverValue(datum[meta.key]) : datum.label;
    };
    var rows = markItems(entry.view, meta.marks.series).map(function (datum) {
      var value = formatNumber(datum[meta.value], 3), range = formatNumber(datum.low, 3) + "–" + formatNumber(datum.high, 3);
      var name = datum.series + (datum.flag ? " (flagged " + datum.flag + ")" : "");
      return { cells: [name, driver(datum), value, range], focus: datum.series + "|" + datum[meta.key],
               label: name + ", " + driver(datum) + ": " + meta.value_title.toLowerCase() + " " + value +
                      " (5–95 % range " + range + ")" };
    });
    markItems(entry.view, meta.marks.envelope).forEach(function (datum) {
      var centre = formatNumber(datum.centre, 3), range = formatNumber(datum.low, 3) + "–" + formatNumber(datum.high, 3);
      rows.push({ cells: ["Observed range", driver(datum), centre, range], focus: "",
                  label: "Observed range over the products, " + driver(datum) + ": centre " + centre +
                         " (range " + range + ")" });
    });
    return rows;
  }

  function headerRow(table, titles) {
    var row = table.createTHead().insertRow();
    titles.forEach(function (title) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = title;
      row.appendChild(th);
    });
  }

  function setFocus(entry, key) {
    try {
      entry.view.signal(entry.values.focus, key).runAsync();
    } catch (error) { /* a spec without the focus parameter: no highlight */ }
  }

  function valueRow(body, entry, item) {
    var row = body.insertRow();
    row.tabIndex = 0;
    row.setAttribute("aria-label", item.label);
    item.cells.forEach(function (text, i) {
      var cell = row.insertCell();
      cell.textContent = text;
      if (i >= 2) cell.className = "num";
    });
    row.addEventListener("focus", function () { setFocus(entry, item.focus); });
    row.addEventListener("mouseenter", function () { setFocus(entry, item.focus); });
    row.addEventListener("blur", function () { setFocus(entry, ""); });
    row.addEventListener("mouseleave", function () { setFocus(entry, ""); });
  }

  /* Fill the figure's values table from the marks it draws now (shown region and datasets only). */
  function listValues(entry) {
    var details = document.querySelector('details.chart-values[data-chart="' + entry.id + '"]');
    if (!details || !entry.values) return;
    var box = details.querySelector(".values-box");
    var rows = valueRows(entry);
    var meta = entry.values;
    box.textContent = "";
    details.setAttribute("data-listed", "");
    if (!rows.length) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No values in this region for the datasets shown.";
      box.appendChild(empty);
      return;
    }
    var table = document.createElement("table");
    table.className = "values";
    var caption = table.createCaption();
    caption.textContent = rows.length + " values; each row is one mark of the chart (Tab moves between them).";
    headerRow(table, ["Dataset", meta.driver ? meta.driver : "Driver", meta.value_title + " (observed: centre)",
                      "5–95 % range"]);
    var body = table.createTBody();
    rows.forEach(function (item) { valueRow(body, entry, item); });
    box.appendChild(table);
  }

  /* ---------------------------------------------------------------- model page */

  function selectRegionFromHash(picker) {
    var anchor = decodeURIComponent(window.location.hash.slice(1));
    each("option", function (option) {
      if (option.getAttribute("data-anchor") === anchor) picker.value = option.value;
    }, picker);
  }

  function setUpRegionPicker() {
    var picker = document.getElementById("region-picker");
    if (!picker) return;
    selectRegionFromHash(picker);
    picker.addEventListener("change", function () { updateCharts(); renderComparison(); });
    window.addEventListener("hashchange", function () { selectRegionFromHash(picker); updateCharts(); });
    each("a.region-link", function (link) {
      link.addEventListener("click", function () {
        picker.value = link.getAttribute("data-region");
        updateCharts();
      });
    });
    each("input.series-toggle", function (input) { input.addEventListener("change", updateCharts); });
  }

  /* ---------------------------------------------------------------- comparison page */

  function selectPairFromHash() {
    var wanted = new URLSearchParams(window.location.hash.slice(1));
    each("select.pair-picker", function (select) {
      var value = wanted.get(select.getAttribute("data-side")) || config.compare[select.getAttribute("data-side")];
      if (Array.prototype.some.call(select.options, function (o) { return o.value === value; })) select.value = value;
    });
  }

  function setUpComparison() {
    if (!document.querySelector("select.pair-picker") || !config.compare) return;
    selectPairFromHash();
    each("select.pair-picker", function (select) {
      select.addEventListener("change", function () { updateCharts(); renderComparison(); });
    });
    window.addEventListener("hashchange", function () { selectPairFromHash(); updateCharts(); renderComparison(); });
    renderComparison();
  }

  function scoreText(entry) {
    if (!entry) return "–";
    if (entry[1]) return "n/a";
    if (entry[0] === null) return "–";
    return entry[0].toFixed(2) + (entry[2] ? " ≤null" : "");  /* set to 0, below the null reference's score */
  }

  /* The class of a score change B - A: the rule of socbench.changes.change_status, with its
     tolerance written into the page by the Python that builds it (config.compare.tolerance). */
  function changeClass(change, tolerance) {
    if (change < -tolerance) return "delta-down";
    return change > tolerance ? "delta-up" : "delta-same";
  }

  function renderComparison() {
    var table = document.getElementById("compare-table");
    if (!table || !config.compare) return;
    var scores = config.compare.scores;
    var params = currentParams();
    var region = params.region;
    var head = table.tHead, body = table.tBodies[0];
    head.textContent = "";
    body.textContent = "";
    var headRow = head.insertRow();
    ["Score (" + region + ")", "A: " + params.a, "B: " + params.b, "B − A"].forEach(function (label) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = label;
      headRow.appendChild(th);
    });
    scores.metrics.forEach(function (metric) {
      var a = ((scores.values[params.a] || {})[region] || {})[metric.key];
      var b = ((scores.values[params.b] || {})[region] || {})[metric.key];
      var row = body.insertRow();
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = metric.title;
      row.appendChild(th);
      [a, b].forEach(function (entry) {
        var cell = row.insertCell();
        cell.className = "num";
        cell.textContent = scoreText(entry);
        if (entry && (entry[1] || entry[2])) cell.title = entry[1] || entry[2];
      });
      var delta = row.insertCell();
      delta.className = "num";
      var badge = document.createElement("span");
      if (a && b && a[0] !== null && b[0] !== null && !a[1] && !b[1]) {
        var change = b[0] - a[0];
        badge.className = "delta " + changeClass(change, config.compare.tolerance);
        badge.textContent = (change >= 0 ? "+" : "−") + Math.abs(change).toFixed(2);
      } else {
        badge.textContent = "–";
      }
      delta.appendChild(badge);
    });
  }

  setUpIndex();
  setUpRegionPicker();
  setUpComparison();
  drawCharts();
}());
