/* Charts of an asset's Datastreams with uPlot; the same numbers are in the tables below each chart. */
(function () {
  "use strict";
  var data = document.getElementById("reihen-daten");
  if (!data || !window.uPlot) { return; }
  var lang = document.documentElement.lang || "de";
  JSON.parse(data.textContent).forEach(function (series) {
    var el = document.getElementById(series.id);
    if (!el) { return; }
    if (!series.values.some(function (v) { return v !== null; })) {
      el.textContent = el.getAttribute("data-empty");
      return;
    }
    var span = series.times[series.times.length - 1] - series.times[0];
    var tick = function (ts) {
      var options = span <= 2 * 86400 ? { hour: "2-digit", minute: "2-digit" } : { day: "2-digit", month: "2-digit" };
      options.timeZone = "Europe/Berlin";
      return new Date(ts * 1000).toLocaleString(lang, options);
    };
    var width = Math.max(260, Math.min(el.clientWidth || 640, 900));
    var plot = new uPlot({
      width: width,
      height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Europe/Berlin"); },
      legend: { show: false },
      cursor: { show: true },
      series: [{}, { label: series.label + " (" + series.unit + ")", stroke: "#1d4f91", width: 2, fill: "rgba(29,79,145,0.08)", spanGaps: false }],
      axes: [{ values: function (u, splits) { return splits.map(tick); } }, { label: series.unit, size: 60 }]
    }, [series.times, series.values], el);
    plot.root.setAttribute("aria-hidden", "true");
    el.setAttribute("data-drawn", "true");
  });
})();
