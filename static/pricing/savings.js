// Daily and monthly savings charts from the data embedded in the page.
(function () {
  "use strict";
  if (typeof Plotly === "undefined") { return; }

  var series = [
    { key: "actual_cost", name: "Actual", color: "#1f5fbf" },
    { key: "on_demand_cost", name: "On-demand", color: "#b8c4d6" },
    { key: "safety_cost", name: "Cost of safety", color: "#d98c00" }
  ];

  function draw(chartId, dataId) {
    var rows = JSON.parse(document.getElementById(dataId).textContent);
    var periods = rows.map(function (r) { return r.period_start; });
    var traces = series.map(function (s) {
      return {
        type: "bar", name: s.name, x: periods, marker: { color: s.color },
        y: rows.map(function (r) { return r[s.key]; })
      };
    });
    Plotly.newPlot(chartId, traces, {
      barmode: "group", margin: { t: 10, r: 10, b: 40, l: 50 },
      legend: { orientation: "h" }, yaxis: { title: { text: "USD" } }
    }, { responsive: true, displayModeBar: false });
  }
  draw("daily-chart", "daily-data");
  draw("monthly-chart", "monthly-data");
})();
