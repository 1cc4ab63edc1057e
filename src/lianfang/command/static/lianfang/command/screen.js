// The big screen: polls the cached JSON every refresh interval and redraws the panels.
(function () {
  "use strict";
  var body = document.getElementById("screen");
  var src = body.dataset.src;
  var refresh = Math.max(5, parseInt(body.dataset.refresh, 10) || 30) * 1000;
  var text = { color: "#e8f0ff", fontSize: 16 };
  var charts = {};
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }
  function scale() { return Math.max(1, window.innerWidth / 1920); }
  function dash(v) { return v === null || v === undefined || (typeof v === "number" && isNaN(v)) || v === "-" ? "—" : String(v); }
  function setList(id, items) {
    var ul = document.getElementById(id);
    ul.textContent = "";
    items.forEach(function (it) {
      var li = document.createElement("li");
      if (it.red) li.className = "red";
      li.appendChild(document.createTextNode(it.label + " "));
      var b = document.createElement("b");
      b.textContent = it.value;
      li.appendChild(b);
      ul.appendChild(li);
    });
  }
  // The words come from the page (translated by the server): screen.html's json_script.
  var L = JSON.parse(document.getElementById("screen-labels").textContent);
  var KINDS = L.kinds;
  function draw(d) {
    var s = scale(), font = { color: text.color, fontSize: 16 * s };
    document.getElementById("screen-at").textContent = d.at || "—";
    var inf = document.querySelector("#panel-infections .na");
    if (d.infections) {
      inf.hidden = true;
      chart("chart-infections").setOption({
        textStyle: font, legend: { textStyle: font, data: [L.in_control, L.in_society] }, grid: { left: 50 * s, right: 10, top: 40 * s, bottom: 30 * s },
        xAxis: { type: "category", data: d.infections.map(function (r) { return r.day.slice(5); }), axisLabel: font },
        yAxis: { type: "value", axisLabel: font, splitLine: { lineStyle: { color: "#1e3a66" } } },
        series: [
          { name: L.in_control, type: "bar", stack: "n", data: d.infections.map(function (r) { return r.in_control; }), itemStyle: { color: "#4fa3ff" } },
          { name: L.in_society, type: "bar", stack: "n", data: d.infections.map(function (r) { return r.in_society; }), itemStyle: { color: "#ff5c5c" } }
        ]
      });
    } else { inf.hidden = false; }
    var known = d.map.some(function (r) { return r.value !== null; });
    chart("chart-map").setOption({
      textStyle: font,
      tooltip: { formatter: function (p) { return p.name + "：" + dash(p.value); } },
      visualMap: { show: known, min: 0, max: Math.max(1, Math.max.apply(null, d.map.map(function (r) { return r.value || 0; }))), inRange: { color: ["#17335c", "#ffd166", "#ff3b3b"] }, textStyle: font, left: 10, bottom: 10 },
      series: [{ type: "map", map: "泉州", roam: false, label: { show: true, color: "#fff", fontSize: 14 * s, formatter: function (p) { return p.name + "\n" + dash(p.value); } },
        itemStyle: { borderColor: "#9fd3ff", areaColor: "#17335c" },
        data: d.map.map(function (r) { return { name: r.name, value: r.value === null ? "-" : r.value, code: r.code }; }) }]
    });
    var rp = document.querySelector("#panel-round .na");
    if (d.round) {
      rp.hidden = true;
      document.getElementById("panel-round").setAttribute("href", d.round.url);
      document.getElementById("round-name").textContent = d.round.name + " " + d.round.coverage_pct + "%";
      chart("chart-round").setOption({
        textStyle: font, grid: { left: 90 * s, right: 40 * s, top: 10, bottom: 20 * s },
        xAxis: { type: "value", max: 100, axisLabel: font, splitLine: { lineStyle: { color: "#1e3a66" } } },
        yAxis: { type: "category", data: d.round.rows.map(function (r) { return r.name; }).reverse(), axisLabel: font },
        series: [{ type: "bar", data: d.round.rows.map(function (r) { return r.coverage_pct; }).reverse(), itemStyle: { color: "#3ddc97" }, label: { show: true, position: "right", color: "#fff", fontSize: 14 * s, formatter: "{c}%" } }]
      });
    } else { rp.hidden = false; }
    setList("list-overdue", d.overdue.length ? d.overdue.map(function (o) { return { label: KINDS[o.kind] || o.kind, value: o.count, red: o.count > 0 }; }) : [{ label: L.no_overdue, value: 0 }]);
    setList("list-problems", d.problems.length ? d.problems.map(function (p) { return { label: (L.levels[p.level_key] || p.level) + L.overdue_of.replace("%(n)s", p.overdue), value: p.open, red: p.overdue > 0 }; }) : [{ label: L.no_problems, value: 0 }]);
    document.getElementById("cap-labs").textContent = dash(d.lab_capacity);
    document.getElementById("cap-rooms").textContent = dash(d.isolation_rooms);
    document.getElementById("cap-beds").textContent = dash(d.treatment_beds);
    body.dataset.ready = "1";
  }
  function poll() {
    fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d && !d.pending) draw(d); })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, refresh); });
  }
  var map = document.getElementById("chart-map");
  chart("chart-map").on("click", function (p) { if (p.data && p.data.code) window.location.href = "/divisions/" + p.data.code + "/"; });
  map.addEventListener("click", function (e) { e.preventDefault(); }, true);
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  poll();
})();
