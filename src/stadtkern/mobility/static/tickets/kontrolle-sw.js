// Service worker of the inspector page (scope /kontrolle only): keeps the page and its assets so that the
// page also opens (reloads) without network. Network first, so that a new key or new zones arrive when
// online; the cache answers only when the network does not.
"use strict";
var CACHE = "stadtkern-kontrolle-v1";
var ASSETS = ["/kontrolle", "/static/tickets/kontrolle.js", "/static/tickets/tickets.css", "/static/stadtkern.css", "/static/vendor/htmx.min.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || ASSETS.indexOf(url.pathname) < 0) return;
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
  }));
});
