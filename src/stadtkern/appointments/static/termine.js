// Progressive enhancement for the appointment pages; everything works without it.
// 1. The start page shows the total duration of the chosen services.
// 2. The place page offers "use my location": fills hidden lon/lat fields (only after a click).
(function () {
  "use strict";
  var total = document.getElementById("total-minutes");
  if (total) {
    var boxes = document.querySelectorAll("input[name='leistung'][data-minutes]");
    var update = function () {
      var sum = 0;
      boxes.forEach(function (box) { if (box.checked) { sum += parseInt(box.dataset.minutes, 10) || 0; } });
      total.hidden = sum === 0;
      total.textContent = total.dataset.text.replace("{n}", String(sum));
    };
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }
  var button = document.getElementById("use-location");
  if (button && "geolocation" in navigator) {
    var status = document.getElementById("location-status");
    button.parentElement.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = status.dataset.asking;
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("lon").value = position.coords.longitude.toFixed(5);
        document.getElementById("lat").value = position.coords.latitude.toFixed(5);
        var near = document.getElementById("ort-naehe");
        if (near) { near.checked = true; }
        status.textContent = status.dataset.ok;
      }, function () {
        status.textContent = status.dataset.failed;
      }, { timeout: 10000, maximumAge: 600000 });
    });
  }
  var select = document.getElementById("naehe");
  if (select) {
    select.addEventListener("change", function () {
      var near = document.getElementById("ort-naehe");
      if (near && select.value) { near.checked = true; }
      document.getElementById("lon").value = "";
      document.getElementById("lat").value = "";
    });
  }
  var office = document.getElementById("standort");
  if (office && office.tagName === "SELECT") {
    office.addEventListener("change", function () {
      var radio = document.getElementById("ort-standort");
      if (radio) { radio.checked = true; }
    });
  }
})();
