/* The grid study's map (Leaflet, SVG: one path per line, coloured, widened and dashed by its loading band)
   and chart (uPlot: every line's highest loading, highest first, against the base case and 100 %).
   Data: the JSON in #netzkarte-daten and #netz-chart-daten. Numbers in the page's language.
   Sets <html data-grid-map-lines="N"> when the map is drawn (the browser test waits for it). */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "de";
  function formatter(digits) {
    return new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  var pct = formatter(2);
  var pu = formatter(4);
  var whole = formatter(0);

  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function lineText(t, line) {
    var text = t.line + " " + line.name + ": " + t.loading + " " + pct.format(line.loading) + " %";
    if (line.band === "over") {
      text += " (" + t.overloaded + "), " + t.hours + ": " + pct.format(line.hours);
    }
    return text;
  }

  function busText(t, bus) {
    var text = t.bus + " " + bus.name + ": " + t.voltage + " " + pu.format(bus.minVm) + " – " + pu.format(bus.maxVm);
    if (bus.outside) {
      text += " (" + t.outside + "; " + t.violations + ": " + whole.format(bus.violations) + ")";
    }
    return text;
  }

  function drawMap() {
    var el = document.getElementById("netzkarte");
    var data = read("netzkarte-daten");
    if (!el || !data || !window.L) { return; }
    var t = data.texts;
    // SVG, not canvas: every line is its own path with its band's class (styles in netz.css).
    var map = L.map(el, { zoomSnap: 0.25, maxZoom: 20, minZoom: 10, zoomControl: false }).setView(data.center, 16);
    L.control.zoom({ zoomInTitle: t.zoomIn, zoomOutTitle: t.zoomOut }).addTo(map);
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(data.attribution);
    if (data.tileUrl) {
      L.tileLayer(data.tileUrl, { maxZoom: 20 }).addTo(map);
    }
    if (data.district) {
      var outline = L.geoJSON(data.district.outline, {
        className: "grid-district", interactive: false
      }).addTo(map);
      outline.bringToBack();
    }
    var lines = L.featureGroup();
    data.lines.forEach(function (line) {
      var path = L.polyline(line.coords, {
        className: "grid-line band-" + line.band,
        weight: line.band === "over" ? 8 : 5
      });
      path.bindTooltip(lineText(t, line), { sticky: true });
      path.bindPopup(lineText(t, line));
      lines.addLayer(path);
    });
    lines.addTo(map);
    var buses = L.featureGroup();
    data.buses.forEach(function (bus) {
      buses.addLayer(L.circleMarker(bus.coords, {
        className: "grid-bus" + (bus.outside ? " outside" : ""),
        radius: bus.outside ? 6 : 3
      }).bindTooltip(busText(t, bus)));
    });
    buses.addTo(map);
    // Chromium puts every SVG path with a tooltip in the tab order: 85 stops to get past the map. Keyboard
    // users get the map (arrow keys, + and -), the transformer and the zoom buttons; the tables linked from
    // the caption hold every line's and bus's values.
    [lines, buses].forEach(function (group) {
      group.eachLayer(function (layer) { layer.getElement().setAttribute("tabindex", "-1"); });
    });
    var trafo = data.transformer;
    var trafoText = t.transformer + " " + trafo.name + ": " + t.loading + " " +
      (trafo.loading === null ? "–" : pct.format(trafo.loading)) + " %";
    L.marker(trafo.coords, {
      icon: L.divIcon({ className: "grid-trafo", iconSize: [18, 18] }),
      title: trafoText,
      alt: trafoText,
      keyboard: true
    }).bindPopup(trafoText).addTo(map);
    map.fitBounds(lines.getBounds(), { padding: [24, 24] });
    document.documentElement.setAttribute("data-grid-map-lines", String(data.lines.length));
  }

  function drawChart() {
    var holder = document.getElementById("netz-chart");
    var data = read("netz-chart-daten");
    if (!holder || !data || typeof uPlot === "undefined") { return; }
    var t = data.texts;
    var xs = data.names.map(function (_, i) { return i + 1; });
    var limit = xs.map(function () { return 100; });
    var top = Math.max.apply(null, data.scenario.concat(data.base || []).concat([100]));
    function available() {
      return Math.max(240, Math.floor(holder.parentElement.getBoundingClientRect().width));
    }
    var series = [
      {
        label: t.rank,
        value: function (u, v) { return v == null ? "--" : whole.format(v) + " (" + (data.names[v - 1] || "") + ")"; }
      },
      {
        label: t.scenario, stroke: "#005a9c", fill: "rgba(0, 90, 156, 0.35)",
        paths: uPlot.paths.bars({ size: [0.7, 30] }), points: { show: false },
        value: function (u, v) { return v == null ? "--" : pct.format(v) + " %"; }
      }
    ];
    var columns = [xs, data.scenario];
    if (data.base) {
      series.push({
        label: t.base, stroke: "#b35900", width: 2, points: { show: true, size: 5, fill: "#b35900" },
        value: function (u, v) { return v == null ? "--" : pct.format(v) + " %"; }
      });
      columns.push(data.base);
    }
    series.push({
      label: t.limit, stroke: "#b00020", width: 2, dash: [8, 5], points: { show: false },
      value: function () { return "100 %"; }
    });
    columns.push(limit);
    var opts = {
      width: available(),
      height: 300,
      scales: {
        x: { time: false, range: function () { return [0.5, xs.length + 0.5]; } },
        y: { range: function () { return [0, Math.ceil(top * 1.1 / 10) * 10]; } }
      },
      axes: [
        { label: t.rank, values: function (u, ticks) { return ticks.map(function (v) { return Number.isInteger(v) ? whole.format(v) : ""; }); } },
        { label: t.loading + " (%)", size: 60, values: function (u, ticks) { return ticks.map(function (v) { return whole.format(v); }); } }
      ],
      series: series
    };
    holder.textContent = "";
    var plot = new uPlot(opts, columns, holder);
    var resize = function () { plot.setSize({ width: available(), height: 300 }); };
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(resize).observe(holder.parentElement);
    } else {
      window.addEventListener("resize", resize);
    }
  }

  function start() {
    drawMap();
    drawChart();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
