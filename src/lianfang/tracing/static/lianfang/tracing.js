/* The transmission chains graph (tracing/chains/): data from the #chain-data JSON, an ECharts
   force graph; a case node opens its page. Names come from imported data: escaped in tooltips. */
(function () {
  var source = document.getElementById("chain-data");
  var el = document.getElementById("chain-graph");
  if (!source || !el || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var keys = data.categories.map(function (c) { return c.key; });
  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }
  var colors = ["#c62828", "#ef6c00", "#1565c0", "#6a1b9a", "#2e7d32", "#00838f", "#757575"];
  el.style.height = Math.max(360, Math.min(720, window.innerHeight - 220)) + "px";
  var chart = echarts.init(el);
  chart.setOption({
    color: colors,
    tooltip: { formatter: function (p) { return p.dataType === "node" ? esc(p.data.name) : ""; } },
    legend: { data: data.categories.map(function (c) { return c.name; }) },
    series: [{
      type: "graph",
      layout: "force",
      roam: true,
      draggable: true,
      force: { repulsion: 80, edgeLength: 40 },
      edgeSymbol: ["none", "arrow"],
      edgeSymbolSize: 6,
      categories: data.categories.map(function (c) { return { name: c.name }; }),
      data: data.nodes.map(function (n) {
        var isCase = n.category === "confirmed" || n.category === "asymptomatic";
        return { id: n.id, name: n.name, category: Math.max(keys.indexOf(n.category), 0), url: n.url,
                 symbolSize: isCase ? 18 : 8, label: { show: isCase } };
      }),
      links: data.links
    }]
  });
  chart.on("click", function (p) {
    if (p.dataType === "node" && p.data.url) window.location.href = p.data.url;
  });
  el.dataset.ready = "1";
  window.addEventListener("resize", function () { chart.resize(); });
})();
