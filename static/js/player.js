// Lesson player tools: playback speed, resume where the member stopped (saved to the server
// every few seconds, on pause and when the page is left), and a transcript that seeks.
(function () {
  "use strict";

  var SAVE_EVERY_MS = 5000;
  var SPEEDS = [0.5, 0.75, 1, 1.25];

  function init() {
    var tools = document.querySelector("[data-player]");
    var video = document.querySelector("main video");
    if (!tools || !video) return;

    var media = [video].concat(Array.prototype.slice.call(document.querySelectorAll(".practice-panel audio")));
    var speedButtons = Array.prototype.slice.call(tools.querySelectorAll("[data-speed]"));

    function setSpeed(speed) {
      media.forEach(function (el) {
        el.defaultPlaybackRate = speed;
        el.playbackRate = speed;
      });
      speedButtons.forEach(function (button) {
        button.setAttribute("aria-pressed", String(parseFloat(button.dataset.speed) === speed));
      });
      try { window.localStorage.setItem("practice-speed", String(speed)); } catch (e) { /* private mode */ }
    }

    speedButtons.forEach(function (button) {
      button.addEventListener("click", function () { setSpeed(parseFloat(button.dataset.speed)); });
    });
    // Loading media resets playbackRate to defaultPlaybackRate; keep the member's choice.
    media.forEach(function (el) {
      el.addEventListener("loadedmetadata", function () { el.playbackRate = el.defaultPlaybackRate; });
    });
    var stored = null;
    try { stored = parseFloat(window.localStorage.getItem("practice-speed")); } catch (e) { /* ignore */ }
    if (stored && SPEEDS.indexOf(stored) !== -1) setSpeed(stored);

    // Resume: start where the member stopped, unless that was the very end.
    var resume = parseFloat(tools.dataset.resume || "0");
    function restore() {
      if (resume >= 1 && (!isFinite(video.duration) || resume < video.duration - 1)) {
        try { video.currentTime = resume; } catch (e) { /* not seekable yet */ }
      }
    }
    if (video.readyState >= 1) restore(); else video.addEventListener("loadedmetadata", restore, { once: true });

    // Transcript times are buttons: keyboard and screen reader operable.
    document.querySelectorAll("[data-seek]").forEach(function (button) {
      button.addEventListener("click", function () {
        video.currentTime = parseFloat(button.dataset.seek);
        video.play().catch(function () { /* the member can press play */ });
      });
    });

    var url = tools.dataset.positionUrl;
    if (!url) return;
    var csrf = tools.dataset.csrf;
    var lastSent = -1;
    var lastSentAt = 0;

    function body(position) {
      var data = new FormData();
      data.append("position", position.toFixed(1));
      data.append("csrfmiddlewaretoken", csrf);
      return data;
    }

    function save(leaving) {
      var position = video.currentTime;
      if (!isFinite(position) || Math.abs(position - lastSent) < 0.5) return;
      lastSent = position;
      lastSentAt = Date.now();
      if (leaving && navigator.sendBeacon && navigator.sendBeacon(url, body(position))) return;
      fetch(url, {
        method: "POST",
        body: body(position),
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
        keepalive: Boolean(leaving)
      }).catch(function () { lastSent = -1; /* offline: the next save catches up */ });
    }

    video.addEventListener("timeupdate", function () {
      if (!video.paused && Date.now() - lastSentAt >= SAVE_EVERY_MS) save(false);
    });
    video.addEventListener("pause", function () { save(false); });
    video.addEventListener("seeked", function () { if (video.paused) save(false); });
    window.addEventListener("pagehide", function () { save(true); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") save(true);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
