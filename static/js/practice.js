// Lesson state (Practised / Skip for now) without a page reload. Without JavaScript the forms
// post and the server redirects back to the lesson, so this is only an enhancement.
(function () {
  "use strict";

  function enhance(root) {
    root.querySelectorAll("form[data-practice-state]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var section = form.closest("[data-lesson-state]");
        var button = form.querySelector("button");
        if (button) button.disabled = true;
        fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { "X-Practice-Partial": "1" },
          credentials: "same-origin"
        }).then(function (response) {
          // Safety note not yet acknowledged, or signed out: follow the server.
          if (response.redirected) { window.location.assign(response.url); return null; }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        }).then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.querySelector("[data-lesson-state]");
          if (!fresh || !section) { window.location.reload(); return; }
          section.replaceWith(fresh);
          enhance(fresh);
          var status = fresh.querySelector("[role=status]");
          if (status) { status.setAttribute("tabindex", "-1"); status.focus(); }
        }).catch(function () {
          form.submit();
        });
      });
    });
  }

  function init() { enhance(document); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
