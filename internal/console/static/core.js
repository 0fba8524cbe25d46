// Thingo console, core pages: confirmations and client-side downloads.
// Loaded with defer; every page still works without it (forms then submit
// without asking).
"use strict";

(function () {
  // Forms with data-confirm ask before submitting (deletions).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.dataset.confirm)) {
        ev.preventDefault();
      }
    });
  });

  // Buttons with data-download="textarea id" save that textarea's content
  // as data-filename (the one-time private key after creating a device).
  document.querySelectorAll("button[data-download]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      const src = document.getElementById(btn.dataset.download);
      if (!src) {
        return;
      }
      const url = URL.createObjectURL(new Blob([src.value], { type: "application/x-pem-file" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = btn.dataset.filename || "download.pem";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  });
})();
