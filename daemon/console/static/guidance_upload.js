// Guidance upload: the file is streamed by the server, so the CSRF token goes in a header, not the body.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
  var label = form.querySelector("button[type=submit]").textContent;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "変換中…";
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { "X-CSRF-Token": token }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) { window.location.assign(response.url); return null; }
        return response.text().then(function (html) { document.open(); document.write(html); document.close(); });
      })
      .catch(function () { button.disabled = false; button.textContent = label; alert("送信できませんでした。"); });
  });
  });
});
