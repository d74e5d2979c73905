// Photo uploads of My things: the chosen file goes as the raw body (the hub checks it by
// content and strips its metadata), with the session's CSRF token in a header.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("photo-upload")) return;
    event.preventDefault();
    var input = form.querySelector('input[type="file"]');
    var state = form.querySelector(".upload-state");
    if (!input.files.length) { state.textContent = "Choose a photo first."; return; }
    state.textContent = "Uploading…";
    fetch(form.getAttribute("data-url"), {
      method: "POST", body: input.files[0], credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf(), "Content-Type": input.files[0].type || "application/octet-stream"}
    }).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok) { window.location.reload(); return; }
        state.textContent = "Refused: " + (body.detail || r.status);
      });
    }).catch(function () { state.textContent = "Upload failed: try again."; });
  });
})();
