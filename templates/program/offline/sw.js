// The site's service worker (served at /sw.js so its scope is the whole site).
// - Static files: from the network, a copy kept of each, so saved pages have their styles and
//   scripts offline.
// - Pages: always from the network. With no network: a lesson page the signed-in member saved
//   ("Save for offline"), from that member's own cache (si-user-<id>), else the offline page.
//   Pages are never put in a cache here: only the member's explicit save stores their pages, in
//   their own cache, which offline.js deletes when someone else (or nobody) is signed in.
// - Lesson media: untouched while online; with no network, the member's saved copy (whole file,
//   answering byte ranges as the video element asks). A lesson's MP4 address falls back to the saved
//   audio or small video of that lesson.
"use strict";

const SHARED = "si-shared-v1";
const META = "si-meta";
const USER_PREFIX = "si-user-";
const OFFLINE_URL = "{{ offline_url|escapejs }}";
const DAY_MS = 24 * 60 * 60 * 1000;
const KEEP_DAYS = 30;

self.addEventListener("install", (event) => {
  // Only GET pages and offline media need the worker: everything else (form posts, the player's
  // position beacons, which a page being left sends, playlists and segments) goes straight to
  // the network without waking it (ServiceWorker static routing, where the browser has it).
  if (event.addRoutes) {
    event.addRoutes([
      { condition: { not: { requestMethod: "GET" } }, source: "network" },
      { condition: { urlPattern: { pathname: "/media/:id/hls/*" } }, source: "network" },
    ]);
  }
  event.waitUntil(caches.open(SHARED).then((cache) => cache.add(OFFLINE_URL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

async function currentUserCache() {
  const meta = await caches.open(META);
  const answer = await meta.match("/__offline/user");
  if (!answer) return null;
  const { user } = await answer.json();
  if (!user) return null;
  const name = USER_PREFIX + user;
  if (!(await caches.has(name))) return null;
  const cache = await caches.open(name);
  const index = await cache.match("/__offline/index");
  if (index) {
    const data = await index.json();
    if (!data.lastCheck || Date.now() - data.lastCheck > KEEP_DAYS * DAY_MS) {
      await caches.delete(name); // 30 days without an online check: the copies go
      return null;
    }
    return { cache, index: data };
  }
  return { cache, index: { lessons: {} } };
}

async function rangeAnswer(request, saved) {
  const range = request.headers.get("range");
  if (!range) return saved;
  const body = await saved.arrayBuffer();
  const size = body.byteLength;
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || (match[1] === "" && match[2] === "")) return new Response(body, { headers: saved.headers });
  let start;
  let end;
  if (match[1] === "") {
    start = Math.max(size - parseInt(match[2], 10), 0);
    end = size - 1;
  } else {
    start = parseInt(match[1], 10);
    end = match[2] ? Math.min(parseInt(match[2], 10), size - 1) : size - 1;
  }
  if (start >= size || end < start) {
    return new Response(null, { status: 416, headers: { "Content-Range": "bytes */" + size } });
  }
  return new Response(body.slice(start, end + 1), {
    status: 206,
    headers: {
      "Content-Type": saved.headers.get("Content-Type") || "application/octet-stream",
      "Content-Range": "bytes " + start + "-" + end + "/" + size,
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes",
    },
  });
}

async function savedMedia(request, url) {
  const mine = await currentUserCache();
  if (!mine) return null;
  let saved = await mine.cache.match(url.pathname);
  if (!saved) {
    // The lesson page names the MP4: play the copy saved for that lesson instead.
    const lesson = Object.values(mine.index.lessons || {}).find((item) => item.media_of === url.pathname);
    if (lesson && lesson.media) saved = await mine.cache.match(lesson.media);
  }
  return saved ? rangeAnswer(request, saved) : null;
}

async function page(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const url = new URL(request.url);
    const mine = await currentUserCache();
    const saved = mine && (await mine.cache.match(url.pathname + url.search));
    if (saved) return saved;
    const offline = await caches.match(OFFLINE_URL, { cacheName: SHARED });
    return offline || Response.error();
  }
}

async function media(request, url) {
  const saved = await savedMedia(request, url);
  return saved || Response.error();
}

async function staticFile(request) {
  // Network first (a development server's names carry no hash), the kept copy with no network.
  const cache = await caches.open(SHARED);
  try {
    const answer = await fetch(request);
    if (answer.ok && answer.status === 200) cache.put(request, answer.clone());
    return answer;
  } catch (error) {
    return (await cache.match(request)) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticFile(request));
  } else if (
    self.navigator.onLine === false &&
    /^\/media\/\d+\/(video|audio|captions|poster|offline)\/$/.test(url.pathname)
  ) {
    // Online, media go straight to the network (byte ranges, S3 redirects): the worker stays
    // out of the way. Offline, the saved copy.
    event.respondWith(media(request, url));
  }
});
