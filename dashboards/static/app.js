// Community hub dashboards: live values over SSE, CSRF header for htmx, optional Leaflet map.
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });

  function show(el, value) {
    var text = value;
    if (typeof value === "number" && !Number.isInteger(value)) {
      text = String(Math.round(value * 100) / 100);
    } else if (typeof value === "boolean") {
      text = value ? "yes" : "no";
    } else if (value === null || value === undefined) {
      text = "";
    }
    text = String(text);
    if (el.textContent !== text) {
      el.textContent = text;
      el.classList.remove("changed");
      void el.offsetWidth; // restart the highlight
      el.classList.add("changed");
    }
  }

  function applyDevices(changes) {
    Object.keys(changes).forEach(function (key) {
      var value = changes[key];
      var nodes = document.querySelectorAll('[data-key="' + CSS.escape(key) + '"]');
      if (!nodes.length && key.slice(-7) !== "|online" && document.getElementById("devices")) {
        // A device or metric the page does not show yet: reload the section.
        document.body.dispatchEvent(new CustomEvent("hub-devices"));
        return;
      }
      nodes.forEach(function (el) {
        if (key.slice(-7) === "|online") {
          var label = value === true ? "online" : value === false ? "offline" : "unknown";
          el.textContent = label;
          el.className = "badge " + (value === true ? "on" : value === false ? "off" : "unknown");
        } else {
          show(el, Array.isArray(value) ? value[0] : value);
        }
      });
    });
  }

  // The linking wizard's live view: "waiting for the first message" until devices report.
  function applyLink(progress) {
    var status = document.getElementById("link-status");
    var list = document.getElementById("link-devices");
    if (!status || !list) return;
    if (!progress.active) {
      status.textContent = status.getAttribute("data-revoked");
      status.setAttribute("data-link-status", "revoked");
    } else if (progress.linked) {
      var n = progress.devices.length;
      // The page carries both plural forms in the reader's language ({n} filled in here).
      status.textContent = (status.getAttribute(n === 1 ? "data-linked-one" : "data-linked-other") || "")
        .replace("{n}", String(n));
      status.setAttribute("data-link-status", "linked");
    }
    list.textContent = "";
    progress.devices.forEach(function (d) {
      var li = document.createElement("li");
      li.textContent = (status.getAttribute(d.metrics === 1 ? "data-reading-one" : "data-reading-other") || "")
        .replace("{n}", String(d.metrics)).replace("{name}", d.name);
      list.appendChild(li);
    });
  }

  function startStream() {
    var url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) return;
    var state = document.getElementById("live-state");
    var source = new EventSource(url);
    // The words come from the page (data-*), in the reader's language; #live-state is a
    // polite live region, so screen readers announce each change.
    function say(key) {
      if (!state || !state.dataset[key]) return;
      state.textContent = "";
      window.requestAnimationFrame(function () { state.textContent = state.dataset[key]; });
    }
    source.addEventListener("open", function () { say("on"); });
    source.addEventListener("error", function () { say("paused"); });
    source.addEventListener("devices", function (e) { applyDevices(JSON.parse(e.data)); });
    source.addEventListener("link", function (e) { applyLink(JSON.parse(e.data)); });
    source.addEventListener("logout", function () {
      source.close();
      window.location.assign("/ui/login?next=" + encodeURIComponent(window.location.pathname));
    });
    source.addEventListener("offers", function () {
      document.body.dispatchEvent(new CustomEvent("hub-offers"));
      say("updated");
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function startMap() {
    var box = document.getElementById("area-map");
    if (!box || !box.dataset.tiles || !window.L) return;
    var areas = JSON.parse(box.dataset.areas || "[]");
    var colours = ["#c0392b", "#2c6fbb", "#8e44ad", "#d68910"];
    box.innerHTML = "";
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", box.dataset.label || "Map of the affected areas");
    var map = L.map(box, { keyboard: true });
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: "&copy; map tiles" }).addTo(map);
    // Bounds from the data itself: a circle knows its bounds only once the map has a view.
    var bounds = L.latLngBounds([]);
    var layers = [];
    areas.forEach(function (a, i) {
      var style = { color: colours[i % 4], weight: 2, fillOpacity: 0.2 };
      var name = a.headline || a.id;
      (a.polygons || []).forEach(function (ring) {
        layers.push(L.polygon(ring, style).bindTooltip(name));
        ring.forEach(function (p) { bounds.extend(p); });
      });
      (a.circles || []).forEach(function (c) {
        layers.push(L.circle([c[0], c[1]], Object.assign({ radius: c[2] * 1000 }, style)).bindTooltip(name));
        bounds.extend(L.latLng(c[0], c[1]).toBounds(c[2] * 2000));
      });
    });
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.2)); } else { map.setView([0, 0], 2); }
    layers.forEach(function (layer) { layer.addTo(map); });
  }

  // The installable app: the service worker keeps the offline page and shows pushes.
  function startWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" }).catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    startWorker();
    startStream();
    startMap();
  });
})();
