// "Your data": while the archive is being prepared, ask the server every few seconds how far it
// has got and update the progress line; reload once it is ready, so the download link appears.
(function () {
  var box = document.getElementById("export-status");
  if (!box || !box.dataset.busy) return;
  var url = box.dataset.statusUrl;
  function check() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) return;
        if (!state.busy) { window.location.reload(); return; }
        var percent = box.querySelector("[data-progress]");
        var bar = box.querySelector("progress");
        if (percent) percent.textContent = state.progress;
        if (bar) { bar.value = state.progress; bar.textContent = state.progress + "%"; }
        window.setTimeout(check, 3000);
      })
      .catch(function () { window.setTimeout(check, 10000); });
  }
  window.setTimeout(check, 3000);
})();
