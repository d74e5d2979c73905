// Community hub service worker (served as /ui/sw.js, scope /ui/).
// Pages are never cached (they carry personal data and are no-store); when the network is
// gone, a navigation gets the offline page kept at install. Pushes become notifications.
"use strict";
var CACHE = "hub-shell-v1";
var SHELL = ["/ui/offline", "/ui/static/app.css", "/ui/static/icons/icon-192.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () { return caches.match("/ui/offline"); }));
    return;
  }
  if (SHELL.indexOf(new URL(request.url).pathname) >= 0) {
    event.respondWith(fetch(request).catch(function () { return caches.match(request); }));
  }
});

// A Web Push message: {"title": ..., "body": ..., "url": ...} (hub.notify sends these).
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Community hub", {
    body: data.body || "", icon: "/ui/static/icons/icon-192.png", data: { url: data.url || "/ui/" },
    lang: data.lang || "", tag: data.tag || undefined,
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/ui/";
  event.waitUntil(self.clients.openWindow(url));
});
