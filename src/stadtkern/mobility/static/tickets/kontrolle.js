// Ticket inspector: verifies Stadtkern ticket codes offline in the browser.
//
// A code is "SK1.<payload>.<signature>" (base64url). The payload is JSON (k key id, t serial, p product,
// pn product name, l level, c city, f/u valid from/until in Unix seconds, s single-use flag, n holder).
// The signature is Ed25519 over the payload bytes, checked with WebCrypto against the public key that is
// embedded in the page (#kontrolle-daten). Nothing here uses the network: once the page has loaded it keeps
// working with the network cut. Seen tickets are kept in localStorage on this device only (7 days).
(function () {
  "use strict";

  var STORE = "stadtkern.kontrolle.gesehen";
  var KEEP_MS = 7 * 24 * 3600 * 1000;
  var dataNode = document.getElementById("kontrolle-daten");
  if (!dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var msg = data.messages;
  var keys = {};

  function b64decode(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function importKeys() {
    var ids = Object.keys(data.keys);
    return Promise.all(ids.map(function (id) {
      return crypto.subtle.importKey("raw", b64decode(data.keys[id]), { name: "Ed25519" }, false, ["verify"])
        .then(function (key) { keys[id] = key; });
    }));
  }
  // Imported once while the page loads; verification afterwards needs no network.
  var ready = (window.crypto && crypto.subtle) ? importKeys() : Promise.reject(new Error("no WebCrypto"));

  function covers(level, ticketCity, here) {
    if (level === "D") return true;
    if (level === "C") return Object.prototype.hasOwnProperty.call(data.cities, here);
    if (level === "B") return here === ticketCity || (data.cities[ticketCity] || []).indexOf(here) >= 0;
    return here === ticketCity;
  }

  function loadSeen(nowMs) {
    var seen = {};
    try { seen = JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { seen = {}; }
    Object.keys(seen).forEach(function (serial) { if (nowMs - seen[serial] > KEEP_MS) delete seen[serial]; });
    return seen;
  }

  function saveSeen(seen) {
    try { localStorage.setItem(STORE, JSON.stringify(seen)); } catch (e) { /* storage full or disabled */ }
  }

  // Verify one code. Returns {ok, reason, claims, seenAt}. `remember` false: do not record it (benchmarks).
  function verify(code, here, nowMs, remember) {
    return ready.then(function () {
      var parts = String(code || "").trim().split(".");
      if (parts.length !== 3 || parts[0] !== "SK1") return { ok: false, reason: "malformed" };
      var payload, signature, claims;
      try {
        payload = b64decode(parts[1]);
        signature = b64decode(parts[2]);
        claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
      } catch (e) {
        return { ok: false, reason: "malformed" };
      }
      if (!claims || typeof claims !== "object") return { ok: false, reason: "malformed" };
      var key = keys[claims.k];
      if (!key) return { ok: false, reason: "unknown_key", claims: claims };
      return crypto.subtle.verify({ name: "Ed25519" }, key, signature, payload).then(function (good) {
        if (!good) return { ok: false, reason: "forged", claims: claims };
        var now = Math.floor(nowMs / 1000);
        if (now < claims.f) return { ok: false, reason: "not_yet_valid", claims: claims };
        if (now >= claims.u) return { ok: false, reason: "expired", claims: claims };
        if (!covers(claims.l, claims.c, here)) return { ok: false, reason: "wrong_zone", claims: claims };
        var seen = loadSeen(nowMs);
        var seenAt = seen[claims.t];
        if (seenAt && claims.s === 1) return { ok: false, reason: "replayed", claims: claims, seenAt: seenAt };
        if (remember !== false && !seenAt) { seen[claims.t] = nowMs; saveSeen(seen); }
        return { ok: true, reason: "ok", claims: claims, seenAt: seenAt };
      });
    }, function () {
      return { ok: false, reason: "no_crypto" };
    });
  }

  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || "de", {
    timeZone: data.timezone, dateStyle: "medium", timeStyle: "short"
  });

  function line(list, term, value) {
    var dt = document.createElement("dt");
    dt.textContent = term;
    var dd = document.createElement("dd");
    dd.textContent = value;
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function zoneText(claims) {
    var name = data.levels[claims.l] || claims.l;
    return (claims.l === "A" || claims.l === "B") ? name + " (" + claims.c + ")" : name;
  }

  function show(result) {
    var box = document.getElementById("ergebnis");
    box.textContent = "";
    box.className = "verdict " + (result.ok ? "verdict-ok" : "verdict-bad");
    box.setAttribute("data-reason", result.reason);
    var title = document.createElement("p");
    title.className = "verdict-title";
    title.textContent = msg[result.reason] || result.reason;
    box.appendChild(title);
    var claims = result.claims;
    if (claims && result.reason !== "forged" && result.reason !== "unknown_key") {
      var list = document.createElement("dl");
      list.className = "facts";
      line(list, "Ticket", claims.pn || claims.p);
      line(list, msg.zone, zoneText(claims));
      line(list, msg.valid_from, timeFormat.format(new Date(claims.f * 1000)));
      line(list, msg.valid_until, timeFormat.format(new Date(claims.u * 1000)));
      if (claims.n) line(list, msg.holder, claims.n);
      line(list, msg.ticket_no, claims.t);
      if (result.seenAt) line(list, msg.seen_before, timeFormat.format(new Date(result.seenAt)));
      box.appendChild(list);
    }
    updateCount();
  }

  function updateCount() {
    var count = document.getElementById("gesehen-anzahl");
    if (count) count.textContent = String(Object.keys(loadSeen(Date.now())).length);
  }

  window.stadtkernKontrolle = { verify: verify, ready: ready };

  var form = document.getElementById("kontrolle");
  var place = document.getElementById("ort");
  var PLACE = "stadtkern.kontrolle.ort";
  try {
    var saved = localStorage.getItem(PLACE);
    if (saved && Object.prototype.hasOwnProperty.call(data.cities, saved)) place.value = saved;
  } catch (e) { /* no storage: keep the default */ }
  place.addEventListener("change", function () {
    try { localStorage.setItem(PLACE, place.value); } catch (e) { /* ignore */ }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var field = document.getElementById("code");
    verify(field.value, place.value, Date.now(), true).then(function (result) {
      show(result);
      field.select();
    });
  });
  document.getElementById("gesehen-leeren").addEventListener("click", function () {
    saveSeen({});
    updateCount();
    var box = document.getElementById("ergebnis");
    box.className = "verdict";
    box.removeAttribute("data-reason");
    box.textContent = msg.cleared;
  });
  updateCount();

  // Keep the page for opening it again without network (service worker limited to /kontrolle).
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/kontrolle/sw.js", { scope: "/kontrolle" }).catch(function () {
      /* without it the page still works offline until it is closed */
    });
  }
})();
