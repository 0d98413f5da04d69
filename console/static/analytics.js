// The analytics page's charts (Chart.js, vendored): daily follows, follows per QR scene, page views, pushes.
(function () {
  var source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") return;
  var d = JSON.parse(source.textContent);
  var green = "#0b6e4f", blue = "#1f4e9c", brown = "#8a4b08";
  var base = { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } };
  function draw(id, type, labels, datasets) {
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, { type: type, data: { labels: labels, datasets: datasets }, options: base });
  }
  function set(label, data, colour) {
    return { label: label, data: data, borderColor: colour, backgroundColor: colour, fill: false };
  }
  draw("chart-daily", "line", d.days, [set("新关注", d.follows, green), set("取消关注", d.unfollows, brown),
                                        set("关注后7天内取消", d.quick, blue)]);
  draw("chart-scenes", "bar", d.scenes, [set("新关注", d.scene_follows, green)]);
  draw("chart-views", "line", d.days, [set("网页访问", d.views, blue)]);
  draw("chart-pushes", "bar", d.pushes, [set("已送达", d.push_sent, green), set("微信已确认", d.push_confirmed, blue)]);
})();
