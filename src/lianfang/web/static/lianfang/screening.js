/* Charts of the screening pages (round page, area pages). Data from the #screening-data JSON;
   times arrive as milliseconds of Shanghai wall time and are shown with useUTC, so the axis reads
   Beijing time whatever the browser's zone. Each chart element gets data-ready="1" once drawn. */
(function () {
  var source = document.getElementById("screening-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var text = data.text || {};
  var font = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';
  var charts = [];
  // Labels come from imported data (division names): escaped before any tooltip's HTML.
  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return null;
    var chart = echarts.init(el);
    option.textStyle = { fontFamily: font };
    option.useUTC = true;
    chart.setOption(option);
    el.dataset.ready = "1";
    charts.push(chart);
    return chart;
  }

  var p = data.progress;
  if (p) {
    var marks = [{ xAxis: p.deadline, name: text.deadline, label: { formatter: text.deadline }, lineStyle: { color: "#c62828", type: "solid", width: 2 } }];
    if (p.now < p.deadline) marks.push({ xAxis: p.now, name: text.now, label: { formatter: text.now }, lineStyle: { color: "#6b7280" } });
    draw("chart-progress", {
      grid: { left: 60, right: 50, top: 40, bottom: 40 },
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", min: Math.min(p.start, (p.sampled[0] || [p.start])[0]), max: Math.max(p.deadline, p.now), splitLine: { show: false } },
      yAxis: [{ type: "value", name: "" }, { type: "value", name: "", splitLine: { show: false } }],
      series: [
        { name: text.sampled, type: "line", showSymbol: false, data: p.sampled, itemStyle: { color: "#1f5fbf" },
          markLine: { symbol: "none", data: marks } },
        { name: text.resulted, type: "line", showSymbol: false, data: p.resulted, itemStyle: { color: "#2e7d32" } },
        { name: text.tubes, type: "bar", yAxisIndex: 1, data: p.tubes_per_hour, barMaxWidth: 12, itemStyle: { color: "#b0c4de" } }
      ]
    });
  }

  var c = data.coverage;
  if (c) {
    var chart = draw("chart-coverage", {
      grid: { left: 50, right: 20, top: 20, bottom: 70 },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var i = items[0].dataIndex;
          return esc(c.names[i]) + "<br>" + esc(text.coverage) + " " + esc(c.values[i]) + "%<br>" +
            esc(text.sampled_of) + " " + esc(c.sampled[i]) + " / " + esc(c.expected[i]);
        }
      },
      xAxis: { type: "category", data: c.names, axisLabel: { rotate: c.names.length > 6 ? 40 : 0, interval: 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ name: text.coverage, type: "bar", data: c.values, cursor: "pointer", barMaxWidth: 40,
        itemStyle: { color: function (d) { return d.value >= 95 ? "#2e7d32" : d.value >= 80 ? "#1f5fbf" : "#b26a00"; } },
        label: { show: true, position: "top", formatter: "{c}%" } }]
    });
    if (chart) {
      chart.on("click", function (params) {
        var url = c.urls[params.dataIndex];
        if (url) window.location.href = url;
      });
    }
  }

  var a = data.ages;
  if (a) {
    draw("chart-pending", {
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: a.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: text.pending, type: "bar", data: a.values, barMaxWidth: 40,
        itemStyle: { color: function (d) { return d.dataIndex >= 3 ? "#c62828" : d.dataIndex === 2 ? "#b26a00" : "#1f5fbf"; } } }]
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (ch) { ch.resize(); }); });
})();
