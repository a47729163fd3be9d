// Price history chart of the instance's pool, from the client API.
(function () {
  "use strict";
  var chart = document.getElementById("price-chart");
  if (!chart || typeof Plotly === "undefined") { return; }
  fetch(chart.dataset.source, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      var points = data.points || [];
      Plotly.newPlot(chart, [{
        type: "scatter", mode: "lines+markers", name: data.pool_id + " $/h",
        x: points.map(function (p) { return p.at; }),
        y: points.map(function (p) { return p.price; }),
        line: { color: "#1f5fbf", shape: "spline" }, marker: { size: 4 }
      }], {
        margin: { t: 10, r: 10, b: 40, l: 60 },
        yaxis: { title: { text: "USD per hour" } }
      }, { responsive: true, displayModeBar: false });
    });
})();
