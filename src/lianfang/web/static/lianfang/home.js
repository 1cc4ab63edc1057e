(function () {
  var el = document.getElementById("chart-population");
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  if (!el || !window.echarts) return;
  var chart = echarts.init(el);
  chart.setOption({
    grid: { left: 90, right: 20, top: 10, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: data.names.slice().reverse() },
    series: [{ type: "bar", data: data.values.slice().reverse(), itemStyle: { color: "#1f5fbf" } }],
    textStyle: { fontFamily: '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif' }
  });
  el.dataset.ready = "1";
  window.addEventListener("resize", function () { chart.resize(); });
})();
