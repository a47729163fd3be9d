// Daily and monthly savings charts from the data embedded in the page.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }

  function draw(canvasId, dataId) {
    var rows = JSON.parse(document.getElementById(dataId).textContent);
    new Chart(document.getElementById(canvasId), {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return r.period_start; }),
        datasets: [
          { label: "Actual", data: rows.map(function (r) { return r.actual_cost; }),
            backgroundColor: "#1f5fbf" },
          { label: "On-demand", data: rows.map(function (r) { return r.on_demand_cost; }),
            backgroundColor: "#b8c4d6" },
          { label: "Cost of safety", data: rows.map(function (r) { return r.safety_cost; }),
            backgroundColor: "#d98c00" }
        ]
      },
      options: { maintainAspectRatio: false, animation: false }
    });
  }
  draw("daily-chart", "daily-data");
  draw("monthly-chart", "monthly-data");
})();
