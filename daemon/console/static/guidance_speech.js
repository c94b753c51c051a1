// Typed guidance: "試聴する" posts the words to the preview route and plays the WAV on the page (nothing is saved);
// a form with data-confirm asks before it is sent.  Without JavaScript the preview opens the WAV in the browser.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-speech]").forEach(function (form) {
    var button = form.querySelector("button[data-preview]");
    var audio = form.querySelector("audio[data-preview-audio]");
    if (!button || !audio) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var label = button.textContent;
      button.disabled = true;
      button.textContent = "合成中…";
      fetch(button.getAttribute("formaction"), { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { return response.text().then(function (words) { throw new Error(words); }); }
          return response.blob();
        })
        .then(function (blob) {
          if (audio.src) { URL.revokeObjectURL(audio.src); }
          audio.src = URL.createObjectURL(blob);
          audio.hidden = false;
          audio.dataset.ready = "1";
          return audio.play().catch(function () { return null; });
        })
        .catch(function (error) { alert(error.message || "試聴できませんでした。"); })
        .finally(function () { button.disabled = false; button.textContent = label; });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
