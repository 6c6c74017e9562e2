/* The operator map: Leaflet over the city's own district shapes, clustered markers coloured by state,
   live updates by server-sent events. Sets performance mark "console-map-drawn" and
   <html data-map-drawn="N"> when all markers and clusters are drawn (the benchmark waits for it). */
(function () {
  "use strict";
  var el = document.getElementById("karte");
  if (!el || !window.L) { return; }
  var cfg = JSON.parse(el.getAttribute("data-settings"));
  var t0 = performance.now();
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.5, maxZoom: 19, minZoom: 9 }).setView(cfg.center, 11);
  map.attributionControl.setPrefix(false);
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: 19 }).addTo(map);
  }
  var markers = {};
  var meters = {};
  var rank = { fault: 3, no_data: 2, off: 1, ok: 0 };

  // One icon per state, shared by all markers (10,000 icons would cost more than the clustering);
  // each marker's accessible name is its title.
  var icons = {};
  function icon(state) {
    if (!icons[state]) {
      icons[state] = L.divIcon({ className: "console-marker state-" + state, iconSize: [14, 14] });
    }
    return icons[state];
  }
  function label(p) {
    return p.name + ": " + (cfg.states[p.state] || p.state);
  }
  var cluster = L.markerClusterGroup({
    showCoverageOnHover: false,
    disableClusteringAtZoom: 17,
    iconCreateFunction: function (c) {
      var worst = "ok";
      c.getAllChildMarkers().forEach(function (m) {
        if (rank[m.options.state] > rank[worst]) { worst = m.options.state; }
      });
      var n = c.getChildCount();
      return L.divIcon({
        className: "console-cluster state-" + worst,
        html: "<span>" + n + "</span>",
        iconSize: [36, 36]
      });
    }
  });

  function districtLayer(data) {
    var layer = L.geoJSON(data, {
      style: { color: "#1d4f91", weight: 2, fillColor: "#1d4f91", fillOpacity: 0.05 },
      onEachFeature: function (feature, shape) {
        var m = meters[feature.properties.code];
        var text = feature.properties.name;
        if (m) {
          text += " – " + m.count + " " + cfg.meterLabel +
            (m.energyKwhLastDay === null ? "" : ", " + m.energyKwhLastDay.toLocaleString("de-DE") + " kWh/24 h");
        }
        shape.bindTooltip(text, { sticky: true });
      }
    });
    layer.addTo(map);
    layer.bringToBack();
    if (!cfg.tileUrl) { map.fitBounds(layer.getBounds()); }
    map.attributionControl.addAttribution(cfg.attribution + " (ODbL)");
  }

  function drawn(count) {
    performance.mark("console-map-drawn");
    document.documentElement.setAttribute("data-map-drawn", String(count));
    document.documentElement.setAttribute("data-map-ms", String(Math.round(performance.now() - t0)));
  }

  function addAssets(collection) {
    performance.mark("console-map-data");
    (collection.householdMeters || []).forEach(function (m) { meters[m.district] = m; });
    var list = [];
    collection.features.forEach(function (f) {
      var p = f.properties;
      var c = f.geometry.coordinates;
      var m = L.marker([c[1], c[0]], { icon: icon(p.state), title: label(p), state: p.state, keyboard: true });
      m.feature = f;
      m.bindPopup(function () {
        var box = document.createElement("div");
        var name = document.createElement("p");
        name.textContent = m.feature.properties.name + " (" + (cfg.types[p.type] || p.type) + ")";
        var state = document.createElement("p");
        state.textContent = cfg.states[m.options.state] || m.options.state;
        var link = document.createElement("a");
        link.href = cfg.assetBase + encodeURIComponent(p.code);
        link.textContent = cfg.open;
        box.appendChild(name); box.appendChild(state); box.appendChild(link);
        return box;
      });
      markers[p.code] = m;
      list.push(m);
    });
    map.addLayer(cluster);
    cluster.addLayers(list);
    performance.mark("console-map-clustered");
    // addLayers is synchronous without chunked loading: everything is placed; the next frame is painted.
    requestAnimationFrame(function () { drawn(list.length); });
  }

  function applyChanges(changes) {
    var touched = [];
    changes.forEach(function (ch) {
      var m = markers[ch.code];
      if (m) {
        m.options.state = ch.state;
        m.setIcon(icon(ch.state));
        if (m._icon) { m._icon.title = label({ name: m.feature.properties.name, state: ch.state }); }
        m.options.title = label({ name: m.feature.properties.name, state: ch.state });
        touched.push(m);
      }
      var row = document.querySelector('tr[data-code="' + ch.code + '"] [data-state]');
      if (row) {
        row.className = "state state-" + ch.state;
        row.querySelector(".state-text").textContent = cfg.states[ch.state] || ch.state;
      }
    });
    if (touched.length) { cluster.refreshClusters(touched); }
    var status = document.getElementById("live-status");
    if (status) { status.textContent = cfg.liveChanged.replace("%(n)s", String(changes.length)); }
  }

  var shapes = fetch(cfg.districts, { credentials: "same-origin" }).then(function (r) { return r.json(); });
  // The page preloads both requests (<link rel="preload">), so they run while the scripts load.
  fetch(cfg.api, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (collection) {
      addAssets(collection);
      return shapes.then(districtLayer);
    })
    .then(function () {
      if (!window.EventSource) { return; }
      var source = new EventSource(cfg.live);
      source.addEventListener("states", function (e) { applyChanges(JSON.parse(e.data).changes); });
    });
})();
