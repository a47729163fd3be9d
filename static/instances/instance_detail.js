// Price history chart of the instance's pool, from the client API.
(function () {
  "use strict";
  var canvas = document.getElementById("price-chart");
  if (!canvas || typeof Chart === "undefined") { return; }
  fetch(canvas.dataset.source, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      var points = data.points || [];
      new Chart(canvas, {
        type: "line",
        data: {
          labels: points.map(function (p) { return p.at.slice(11, 16); }),
          datasets: [{ label: data.pool_id + " $/h", data: points.map(function (p) {
            return p.price; }), borderColor: "#1f5fbf", pointRadius: 2, tension: 0.2 }]
        },
        options: { maintainAspectRatio: false, animation: false,
                   scales: { y: { beginAtZero: false } } }
      });
    });
})();
