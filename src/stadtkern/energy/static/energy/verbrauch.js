// Draws the consumption chart from the JSON in #verbrauch-daten with uPlot (bars: the household,
// line: the standard load profile, dashed green line: the feed-in of a PV system where there is one).
// Missing values are null: uPlot leaves them out (a gap).
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("verbrauch-chart");
    var source = document.getElementById("verbrauch-daten");
    if (!holder || !source || typeof uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    var xs = data.labels.map(function (_, i) { return i; });
    function available() {
      // The figure's width, not the holder's: the holder grows with the canvas inside it.
      return Math.max(240, Math.floor(holder.parentElement.getBoundingClientRect().width));
    }
    var width = available();
    var opts = {
      width: width,
      height: 280,
      scales: {
        x: { time: false, range: function () { return [-0.5, xs.length - 0.5]; } },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } }
      },
      axes: [
        {
          space: 70,
          incrs: [1, 2, 3, 4, 6, 8, 12, 24],
          values: function (u, ticks) {
            return ticks.map(function (t) { return Number.isInteger(t) ? (data.labels[t] || "") : ""; });
          }
        },
        { label: data.unit, size: 60 }
      ],
      series: [
        { label: data.xLabel, value: function (u, v) { return v == null ? "--" : (data.labels[v] || ""); } },
        { label: data.ownLabel, stroke: "#005a9c", fill: "rgba(0, 90, 156, 0.35)", paths: uPlot.paths.bars({ size: [0.8, 40] }), points: { show: false } },
        { label: data.profileLabel, stroke: "#b35900", width: 2, points: { show: false } }
      ]
    };
    var columns = [xs, data.own, data.profile];
    if (data.feedIn) {
      // Feed-in of a PV system: its own colour, dashed and with points, so that colour is
      // not the only cue; nulls (gaps) are not bridged.
      opts.series.push({
        label: data.feedInLabel, stroke: "#1a7f37", width: 2, dash: [8, 4],
        points: { show: xs.length <= 31, size: 7, fill: "#1a7f37" }, spanGaps: false
      });
      columns.push(data.feedIn);
    }
    holder.textContent = "";
    var plot = new uPlot(opts, columns, holder);
    var resize = function () { plot.setSize({ width: available(), height: 280 }); };
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(resize).observe(holder.parentElement);
    } else {
      window.addEventListener("resize", resize);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
