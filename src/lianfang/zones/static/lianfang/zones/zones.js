/* Zones pages: type badges take their colour from data-colour; the map page draws the shipped
   county outlines (registered by vendor/quanzhou.js as "泉州"), colours each county by the
   strictest zone in force on the chosen day and lists the zones of that day, redrawn from each
   zone's history (JSON in #zones-data). No inline script: the CSP forbids it. */
(function () {
  document.querySelectorAll("[data-colour]").forEach(function (el) {
    el.style.background = el.dataset.colour;
    el.style.color = "#fff";
  });
  var source = document.getElementById("zones-data");
  var el = document.getElementById("zone-map");
  if (!source || !el) return;
  var data = JSON.parse(source.textContent);
  var DAY = 86400000;
  var RANK = { sealed: 5, high: 5, controlled: 4, medium: 4, precaution: 2, low: 1 };
  var slider = document.getElementById("day");
  var label = document.getElementById("day-label");
  var body = document.querySelector("#map-list tbody");
  var days = Math.max(0, Math.ceil((data.now - data.first) / DAY));
  slider.max = String(days);
  slider.value = String(days);
  var chart = window.echarts && window.echarts.getMap && window.echarts.getMap("泉州") ? window.echarts.init(el) : null;

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }
  function stateAt(zone, t) {
    var last = null;
    zone.changes.forEach(function (c) { if (c.at <= t) last = c; });
    return last && last.type !== "lifted" ? last : null;
  }
  function draw() {
    var t = Math.min(data.now, data.first + (Number(slider.value) + 1) * DAY - 1);
    if (Number(slider.value) === days) t = data.now;
    var d = new Date(t + 8 * 3600000);
    label.textContent = d.toISOString().slice(0, 10);
    var rows = [], counties = {};
    data.zones.forEach(function (z) {
      var s = stateAt(z, t);
      if (!s) return;
      rows.push("<tr data-type=\"" + esc(s.type) + "\"><td>" + esc(z.code) + "</td><td>" + esc(s.name) + "</td><td>" + esc(s.label) + "</td><td>" + esc(s.county_names.join("、")) + "</td><td>" + esc((s.places || []).join("、")) + "</td></tr>");
      s.county_names.forEach(function (name) {
        var best = counties[name];
        if (!best || (RANK[s.type] || 0) > (RANK[best.type] || 0)) counties[name] = s;
      });
    });
    body.innerHTML = rows.length ? rows.join("") : "<tr><td colspan=\"5\" class=\"muted\">" + esc(data.text.none) + "</td></tr>";
    el.dataset.zones = String(rows.length);
    if (!chart) return;
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) { var s = counties[p.name]; return esc(p.name) + (s ? "<br>" + esc(s.label) : ""); } },
      series: [{
        type: "map", map: "泉州", roam: true, selectedMode: false,
        label: { show: true, fontSize: 10 },
        itemStyle: { areaColor: "#f5f5f5", borderColor: "#888" },
        data: Object.keys(counties).map(function (name) {
          return { name: name, itemStyle: { areaColor: counties[name].colour } };
        })
      }]
    }, true);
    el.dataset.ready = "1";
  }
  slider.addEventListener("input", draw);
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
  draw();
})();
