// Media refresh: a lesson's <video> and <audio> name our media view (/media/<id>/<kind>/), which
// checks access and, with S3, redirects to a presigned URL that expires (AWS_QUERYSTRING_EXPIRE).
// The browser keeps asking the presigned URL for further byte ranges; once it has expired, S3
// answers 403 and the element fails with a network error. Then ask our media view again (it hands
// out a fresh URL), and carry on at the same place, speed and play state. The same goes for a
// Safari playing our HLS playlist itself (segment tokens expire); hls.js has its own handler.
(function () {
  "use strict";

  var MAX_TRIES = 3; // in a row without playing in between: no loop when access has ended
  var NETWORK = 2; // MediaError.MEDIA_ERR_NETWORK
  var SRC_NOT_SUPPORTED = 4; // MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED (what a 403 often gives)

  function watch(el) {
    var viewUrl = el.getAttribute("data-media-src") || el.getAttribute("src");
    if (!viewUrl || viewUrl.indexOf("/media/") === -1) return;
    el.setAttribute("data-media-src", viewUrl);
    var tries = 0;
    var wasPlaying = false;

    el.addEventListener("play", function () { wasPlaying = true; });
    el.addEventListener("pause", function () { if (!el.error) wasPlaying = false; });
    el.addEventListener("playing", function () { tries = 0; });

    el.addEventListener("error", function () {
      if (el.hasAttribute("data-hls-js")) return; // hls-player.js handles its own errors
      var code = el.error && el.error.code;
      if (code !== NETWORK && code !== SRC_NOT_SUPPORTED) return;
      if (tries >= MAX_TRIES) return;
      tries += 1;
      var position = el.currentTime || 0;
      var rate = el.playbackRate || 1;
      var resume = wasPlaying;
      el.addEventListener("loadedmetadata", function () {
        try { el.currentTime = position; } catch (e) { /* not seekable yet */ }
        el.playbackRate = rate;
        if (resume) el.play().catch(function () { /* the member can press play */ });
      }, { once: true });
      // The view's redirect is never cached (Cache-Control: no-store): this gets a fresh URL.
      el.src = viewUrl;
      el.load();
    });
  }

  function init() {
    document.querySelectorAll("main video, main audio").forEach(watch);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
