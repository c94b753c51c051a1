// Bank statement upload: sent with the CSRF token in a header, so the server streams the file
// past the 64 KiB form limit (a month of a busy account's 全銀 records). Without JavaScript the
// plain form still works for files under the limit.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-statement-upload]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!form || !meta) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    var headers = { "X-CSRF-Token": meta.getAttribute("content") };
    fetch(form.action, { method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin" })
      .then(function (answer) {
        if (answer.redirected) { window.location.assign(answer.url); return null; }
        return answer.text().then(function (page) { document.open(); document.write(page); document.close(); });
      })
      .catch(function () { button.disabled = false; alert("明細を送信できませんでした。通信状態を確かめてください。"); });
  });
});
