// The transcript of a page's video (articles such as the self-check): each time button plays
// the video from that line. Lesson pages do the same in player.js, with the member's tools.
(function () {
  "use strict";

  function init() {
    var video = document.querySelector("main video");
    if (!video) return;
    document.querySelectorAll(".transcript [data-seek]").forEach(function (button) {
      button.addEventListener("click", function () {
        video.currentTime = parseFloat(button.dataset.seek);
        video.play().catch(function () { /* the visitor can press play */ });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
