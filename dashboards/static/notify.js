// Push notifications for this browser: subscribe through the service worker with the hub's
// VAPID key, then hand the subscription to the hub (a form post with the page's CSRF token).
"use strict";
(function () {
  function key(b64) {
    var pad = "=".repeat((4 - (b64.length % 4)) % 4);
    var raw = atob((b64 + pad).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function b64(buffer) {
    var bytes = new Uint8Array(buffer), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("push-on");
    var state = document.getElementById("push-state");
    if (!button) return;
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      button.disabled = true;
      state.textContent = button.dataset.failed;
      return;
    }
    button.addEventListener("click", function () {
      navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" })
        .then(function () { return navigator.serviceWorker.ready; })
        .then(function (reg) {
          return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(button.dataset.key) });
        })
        .then(function (sub) {
          var body = new URLSearchParams({ csrf: button.dataset.csrf, endpoint: sub.endpoint,
            p256dh: b64(sub.getKey("p256dh")), auth: b64(sub.getKey("auth")) });
          return fetch("/ui/notifications/push", { method: "POST", body: body, credentials: "same-origin" });
        })
        .then(function (r) { state.textContent = r.ok ? button.dataset.done : button.dataset.failed; })
        .catch(function () { state.textContent = button.dataset.failed; });
    });
  });
})();
