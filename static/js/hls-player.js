// Adaptive streaming for the lesson video. The <video> names the MP4 (src) and, once the worker
// has made them, the HLS playlists (data-hls-src). Where Media Source Extensions exist, hls.js
// plays the HLS ladder and picks the rendition from the bandwidth it measures; otherwise a browser
// that plays HLS itself (Safari on iPhone) gets the playlist; anything else keeps the MP4.
//
// hls.js is tried first because Chromium 156 also answers "maybe" for
// application/vnd.apple.mpegurl, and its own new HLS player does no bandwidth estimate we can see.
//
// Nothing loads before the member presses play (as preload="metadata" promises a phone on a
// metered connection) except the small master playlist. Segment links carry a token that expires
// (HLS_TOKEN_SECONDS): when a segment is refused, fetch fresh playlists and go on from the same
// place; if that keeps failing, fall back to the MP4, which the media view serves.
(function () {
  "use strict";

  var MAX_RELOADS = 3; // in a row without a segment arriving in between

  function resumePosition() {
    var tools = document.querySelector("[data-player]");
    var resume = tools ? parseFloat(tools.dataset.resume || "0") : 0;
    return resume >= 1 ? resume : -1;
  }

  function playWithHlsJs(video, master, mp4) {
    var Hls = window.Hls;
    var hls = new Hls({
      autoStartLoad: false,
      // fMP4 segments need no transmuxing: no worker, so the CSP needs no worker-src blob:.
      enableWorker: false,
      // The lesson is watched from the start, not live: keep a modest buffer on a phone.
      maxBufferLength: 30
    });
    var started = false;
    var reloads = 0;
    var mediaRecovered = false;
    window.lessonHls = hls; // for the browser tests and for support questions in devtools

    // media-refresh.js keeps the MP4's address for after a fallback, and leaves hls.js alone.
    video.setAttribute("data-media-src", mp4);
    video.setAttribute("data-hls-js", "");
    video.removeAttribute("src");
    hls.attachMedia(video);
    hls.loadSource(master);

    function start() {
      if (started) return;
      started = true;
      var at = video.currentTime > 0 ? video.currentTime : resumePosition();
      hls.startLoad(at);
    }
    video.addEventListener("play", start);
    video.addEventListener("seeking", function () { if (!video.paused) start(); });

    hls.on(Hls.Events.FRAG_BUFFERED, function () { reloads = 0; });

    function fallBack() {
      var at = video.currentTime || 0;
      var playing = !video.paused;
      hls.destroy();
      window.lessonHls = null;
      video.removeAttribute("data-hls-js");
      video.addEventListener("loadedmetadata", function () {
        try { video.currentTime = at; } catch (e) { /* not seekable yet */ }
        if (playing) video.play().catch(function () { /* the member can press play */ });
      }, { once: true });
      video.src = mp4;
      video.load();
    }

    hls.on(Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && reloads < MAX_RELOADS) {
        // Most likely expired segment tokens: new playlists carry new ones.
        reloads += 1;
        var at = video.currentTime || 0;
        var wasStarted = started;
        hls.once(Hls.Events.MANIFEST_PARSED, function () {
          if (wasStarted) hls.startLoad(at);
        });
        hls.loadSource(master);
        return;
      }
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !mediaRecovered) {
        mediaRecovered = true;
        hls.recoverMediaError();
        return;
      }
      fallBack();
    });
  }

  function init() {
    var video = document.querySelector("main video[data-hls-src]");
    // With no network the MP4's address stays: the service worker answers it with the copy the
    // member saved for offline (see offline.js), which is one whole file, not HLS.
    if (!video || navigator.onLine === false) return;
    var master = video.getAttribute("data-hls-src");
    var mp4 = video.getAttribute("src");
    if (window.Hls && window.Hls.isSupported()) {
      playWithHlsJs(video, master, mp4);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      // media-refresh.js asks this URL again when a token has expired.
      video.setAttribute("data-media-src", master);
      video.src = master;
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
