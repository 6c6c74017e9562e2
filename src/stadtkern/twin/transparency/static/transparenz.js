/* Transparency register map: Leaflet over the city's own district shapes (no tiles), sensors clustered.
   Everything on the map is also in the accessible list below it; without JavaScript the list remains. */
(function () {
  "use strict";
  var COLOURS = ["#1d4e89", "#8a3b12", "#2f6b2f", "#6a3d9a", "#8c6d00", "#a0204e", "#00616e", "#4d4d4d"];

  function popup(properties, label) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = properties.name;
    var kind = document.createElement("div");
    kind.textContent = properties.title;
    var link = document.createElement("a");
    link.href = "/transparenz/" + encodeURIComponent(properties.type);
    link.textContent = label;
    box.appendChild(name);
    box.appendChild(kind);
    box.appendChild(link);
    return box;
  }

  function start() {
    var element = document.getElementById("transparenz-karte");
    if (!element || !window.L || !L.markerClusterGroup) { return; }
    var map = L.map(element, { zoomSnap: 0.25, scrollWheelZoom: false, minZoom: 9, maxZoom: 18 });
    map.attributionControl.setPrefix(false);
    var colours = {};
    fetch(element.dataset.districts).then(function (response) { return response.json(); }).then(function (shapes) {
      var districts = L.geoJSON(shapes, {
        style: { color: "#1d4e89", weight: 2, fillOpacity: 0.04 },
        interactive: false
      }).addTo(map);
      map.attributionControl.addAttribution(shapes.attribution + (shapes.license ? " (" + shapes.license + ")" : ""));
      map.fitBounds(districts.getBounds());
      return fetch(element.dataset.points);
    }).then(function (response) { return response.json(); }).then(function (points) {
      var cluster = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
      cluster.addLayer(L.geoJSON(points, {
        pointToLayer: function (feature, latlng) {
          var type = feature.properties.type;
          if (!(type in colours)) { colours[type] = COLOURS[Object.keys(colours).length % COLOURS.length]; }
          return L.circleMarker(latlng, { radius: 6, color: "#fff", weight: 1, fillColor: colours[type], fillOpacity: 0.9 });
        },
        onEachFeature: function (feature, layer) {
          layer.bindPopup(popup(feature.properties, element.dataset.detailLabel));
        }
      }));
      map.addLayer(cluster);
      element.dataset.loaded = String(points.features.length);
    }).catch(function (error) {
      element.dataset.loaded = "error";
      if (window.console) { console.error(error); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
