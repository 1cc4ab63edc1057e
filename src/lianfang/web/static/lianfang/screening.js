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
    // The deadline is usually the axis's right end: the axis runs a little past it, and its label
    // sits above the plot (the legend is below), so it never lands on an axis or its labels.
    var start = Math.min(p.start, (p.sampled[0] || [p.start])[0]);
    var end = Math.max(p.deadline, p.now);
    var pad = Math.max((end - start) * 0.12, 60 * 60 * 1000);
    var progressEl = document.getElementById("chart-progress");
    var marks = [{ xAxis: p.deadline, name: text.deadline, label: { formatter: text.deadline, position: "end", distance: 4 }, lineStyle: { color: "#c62828", type: "solid", width: 2 } }];
    // "Now" close to the deadline keeps its line but not its label, which would sit on the deadline's.
    var nowLabel = p.deadline - p.now > (end - start) * 0.15;
    if (p.now < p.deadline) marks.push({ xAxis: p.now, name: text.now, label: { show: nowLabel, formatter: text.now, position: "end", distance: 4 }, lineStyle: { color: "#6b7280" } });
    draw("chart-progress", {
      grid: { left: 12, right: 12, top: 28, bottom: 56, containLabel: true },
      legend: { bottom: 0, type: "scroll" },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", min: start, max: end + pad, splitLine: { show: false },
        axisLabel: { hideOverlap: true }, splitNumber: progressEl && progressEl.clientWidth < 500 ? 3 : 6 },
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
  if (c && c.names.length) {
    // One row per division, top to bottom in the table's order: the chart grows with the rows
    // (ROW px each), so 22 towns get 22 readable labels instead of a crush of rotated ones.
    var ROW = 26;
    var coverageEl = document.getElementById("chart-coverage");
    if (coverageEl) coverageEl.style.height = Math.max(200, c.names.length * ROW + 60) + "px";
    var chart = draw("chart-coverage", {
      grid: { left: 8, right: 56, top: 8, bottom: 28, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var i = items[0].dataIndex;
          return esc(c.names[i]) + "<br>" + esc(text.coverage) + " " + esc(c.values[i]) + "%<br>" +
            esc(text.sampled_of) + " " + esc(c.sampled[i]) + " / " + esc(c.expected[i]);
        }
      },
      yAxis: { type: "category", inverse: true, data: c.names,
        axisLabel: { interval: 0, width: 110, overflow: "truncate" }, axisTick: { show: false } },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ name: text.coverage, type: "bar", data: c.values, cursor: "pointer", barMaxWidth: 18,
        itemStyle: { color: function (d) { return d.value >= 95 ? "#2e7d32" : d.value >= 80 ? "#1f5fbf" : "#b26a00"; } },
        label: { show: true, position: "right", formatter: "{c}%" } }]
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
