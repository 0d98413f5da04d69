// The delivery report's chart: cumulative deliveries per channel over time (Chart.js, vendored).
(function () {
  var source = document.getElementById("report-data");
  var canvas = document.getElementById("report-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var colours = ["#0b6e4f", "#1f4e9c", "#8a4b08", "#6b2a7a"];
  var datasets = Object.keys(data.series).map(function (name, i) {
    return { label: name, data: data.series[name], borderColor: colours[i % colours.length],
             backgroundColor: colours[i % colours.length], stepped: true, fill: false };
  });
  new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: datasets },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
})();
