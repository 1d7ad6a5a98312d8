// The installable app's page side (every page loads it):
// - registers the service worker (/sw.js) and tells it who is signed in (a META cache entry);
// - keeps offline copies only for that member: another member's or a signed-out visitor's page
//   load deletes every other si-user-<id> cache and the queue of unsent actions;
// - asks the site which saved lessons the member may keep (at every online visit) and deletes the
//   rest; with no such check for 30 days, deletes them all;
// - "Save for offline" on a unit page: the sizes, the download with its progress;
// - journal entries and practised/skip marks made offline: queued in IndexedDB with a UUID and
//   sent once when back online (the server records each UUID once).
(function () {
  "use strict";

  var script = document.currentScript;
  // The offline page is the same for everyone and says nobody: there, read who is signed in
  // from the device's record and change nothing.
  var SHELL = !script.hasAttribute("data-user");
  var USER = script.dataset.user || "";
  var KEEP_URL = script.dataset.keepUrl;
  var SYNC_URL = script.dataset.syncUrl;
  var CSRF = script.dataset.csrf || "";
  var META = "si-meta";
  var PREFIX = "si-user-";
  var MINE = PREFIX + USER;
  var INDEX = "/__offline/index";
  var DAY_MS = 24 * 60 * 60 * 1000;
  var KEEP_DAYS = 30;

  if (!("caches" in window) || !("serviceWorker" in navigator)) return;

  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* no app mode */ });

  function readIndex(cache) {
    return cache.match(INDEX).then(function (answer) {
      return answer ? answer.json() : { lessons: {}, lastCheck: Date.now() };
    });
  }

  function writeIndex(cache, index) {
    return cache.put(INDEX, new Response(JSON.stringify(index), { headers: { "Content-Type": "application/json" } }));
  }

  function removeLessons(cache, index, ids) {
    var deletions = [];
    ids.forEach(function (id) {
      var lesson = index.lessons[id];
      if (!lesson) return;
      (lesson.urls || []).forEach(function (url) { deletions.push(cache.delete(url)); });
      delete index.lessons[id];
    });
    return Promise.all(deletions).then(function () { return writeIndex(cache, index); });
  }

  // --- who is signed in: only their copies stay ---------------------------------------------
  var ready = SHELL ? caches.open(META).then(function (meta) {
    return meta.match("/__offline/user");
  }).then(function (answer) {
    return answer ? answer.json() : { user: null };
  }).then(function (data) {
    USER = data.user ? String(data.user) : "";
    MINE = PREFIX + USER;
  }) : caches.open(META).then(function (meta) {
    return meta.put("/__offline/user", new Response(JSON.stringify({ user: USER || null })));
  }).then(function () {
    return caches.keys();
  }).then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== MINE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    if (!USER) return caches.delete(MINE).then(clearQueue);
  });

  // --- the online check ---------------------------------------------------------------------
  function check() {
    if (!USER || SHELL) return Promise.resolve();
    return caches.has(MINE).then(function (has) {
      if (!has) return null;
      return caches.open(MINE).then(function (cache) {
        return readIndex(cache).then(function (index) {
          var ids = Object.keys(index.lessons);
          if (!navigator.onLine) {
            if (!index.lastCheck || Date.now() - index.lastCheck > KEEP_DAYS * DAY_MS) return caches.delete(MINE);
            return null;
          }
          if (!ids.length) return null;
          return fetch(KEEP_URL + "?lessons=" + ids.join(","), { credentials: "same-origin" })
            .then(function (answer) { return answer.ok ? answer.json() : null; })
            .then(function (data) {
              if (!data) return null;
              if (String(data.user) !== USER) return caches.delete(MINE);
              var keep = data.keep.map(String);
              index.lastCheck = Date.now();
              return removeLessons(cache, index, ids.filter(function (id) { return keep.indexOf(id) === -1; }));
            })
            .catch(function () { /* no answer: try again next visit */ });
        });
      });
    }).then(function () { document.documentElement.setAttribute("data-offline-checked", ""); });
  }

  // --- the queue of actions made offline (IndexedDB) ----------------------------------------
  function openQueue() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open("si-offline", 1);
      request.onupgradeneeded = function () { request.result.createObjectStore("queue", { keyPath: "client_id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function store(mode, work) {
    return openQueue().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("queue", mode);
        var result = work(tx.objectStore("queue"));
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function clearQueue() { return store("readwrite", function (queue) { return queue.clear(); }); }

  var flushing = false;
  function flush() {
    if (!USER || SHELL || !CSRF || !navigator.onLine || flushing) return Promise.resolve();
    flushing = true;
    return store("readonly", function (queue) { return queue.getAll(); }).then(function (items) {
      // In the order they were made (the store lists them by their random id): skipped, then
      // practised, must end practised.
      var mine = (items || []).filter(function (item) { return item.user === USER; });
      mine.sort(function (a, b) { return a.done_at - b.done_at; });
      return mine.reduce(function (previous, item) {
        return previous.then(function () {
          return fetch(SYNC_URL, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF },
            body: JSON.stringify(item)
          }).then(function (answer) {
            // Recorded, already recorded, or refused for good: either way it leaves the queue.
            if (answer.ok || answer.status === 400) {
              return store("readwrite", function (queue) { return queue.delete(item.client_id); });
            }
            return null;
          });
        });
      }, Promise.resolve());
    }).catch(function () { /* offline again: the next visit or "online" event sends the rest */ })
      .then(function () { flushing = false; document.documentElement.setAttribute("data-offline-synced", ""); });
  }

  function say(form, text) {
    var note = form.querySelector("[data-offline-note]");
    if (!note) {
      note = document.createElement("p");
      note.setAttribute("role", "status");
      note.setAttribute("data-offline-note", "");
      note.className = "message";
      form.appendChild(note);
    }
    note.textContent = text;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // Capture phase: runs before the page's own submit handlers (practice.js), only when offline.
  document.addEventListener("submit", function (event) {
    if (navigator.onLine || !USER || SHELL) return;
    var form = event.target;
    var action = new URL(form.action, location.href);
    var item = null;
    var state = /\/lessons\/(\d+)\/(practised|skip)\/$/.exec(action.pathname);
    if (state) {
      item = { kind: state[2], lesson: parseInt(state[1], 10) };
    } else if (form.classList.contains("journal-form")) {
      var side = form.querySelector("input[name=side]:checked");
      if (!side) return; // the browser shows the page's own message when back online
      var pain = form.querySelector("[name=pain]");
      var note = form.querySelector("[name=note]");
      item = {
        kind: "journal",
        program: action.searchParams.get("program"),
        side: side.value,
        pain: pain && pain.value !== "" ? parseInt(pain.value, 10) : null,
        note: note ? note.value : ""
      };
    }
    if (!item) return;
    event.preventDefault();
    event.stopPropagation();
    item.client_id = uuid();
    item.user = USER;
    item.done_at = Date.now();
    store("readwrite", function (queue) { return queue.put(item); }).then(function () {
      say(form, "Saved on this device. It will be sent once you are back online.");
    }, function () {
      say(form, "This could not be saved on this device. Please try again with a connection.");
    });
  }, true);

  window.addEventListener("online", function () { flush(); check(); });

  // --- "Save for offline" on a unit page ----------------------------------------------------
  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }

  function download(url, onBytes) {
    return fetch(url, { credentials: "same-origin" }).then(function (answer) {
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      var type = answer.headers.get("Content-Type") || "application/octet-stream";
      if (!answer.body || !answer.body.getReader) {
        return answer.blob().then(function (blob) { onBytes(blob.size); return { blob: blob, type: type }; });
      }
      var reader = answer.body.getReader();
      var chunks = [];
      function pump() {
        return reader.read().then(function (part) {
          if (part.done) return { blob: new Blob(chunks, { type: type }), type: type };
          chunks.push(part.value);
          onBytes(part.value.byteLength);
          return pump();
        });
      }
      return pump();
    });
  }

  function setUpSave(panel) {
    var status = panel.querySelector("[data-offline-status]");
    var bar = panel.querySelector("[data-offline-progress]");
    var start = panel.querySelector("[data-offline-start]");
    var remove = panel.querySelector("[data-offline-remove]");
    var pack = null;

    function choice() { return panel.querySelector("input[name=offline-choice]:checked").value; }

    function showSaved() {
      return caches.open(MINE).then(readIndex).then(function (index) {
        var saved = pack.lessons.filter(function (lesson) { return index.lessons[lesson.id]; });
        remove.hidden = saved.length === 0;
        if (saved.length && saved.length === pack.lessons.length) {
          status.textContent = "Saved on this device: " + saved.length + " lesson" + (saved.length === 1 ? "" : "s") + ". They play without a connection.";
        }
      });
    }

    fetch(panel.dataset.packUrl, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data || String(data.user) !== USER) return;
        pack = data;
        ["audio", "video"].forEach(function (kind) {
          var total = 0;
          var missing = 0;
          data.lessons.forEach(function (lesson) { if (lesson[kind]) total += lesson[kind].bytes; else if (lesson.video || lesson.audio) missing += 1; });
          var label = panel.querySelector("[data-offline-size=" + kind + "]");
          label.textContent = "(" + megabytes(total) + (missing ? ", " + missing + " lesson" + (missing === 1 ? "" : "s") + " not available yet" : "") + ")";
        });
        panel.hidden = false;
        return showSaved();
      })
      .catch(function () { /* offline: the panel stays hidden */ });

    start.addEventListener("click", function () {
      if (!pack) return;
      var kind = choice();
      var jobs = [];
      var total = 0;
      pack.lessons.forEach(function (lesson) {
        var media = lesson[kind] || lesson.audio || lesson.video;
        var urls = [lesson.page].concat(lesson.files);
        if (media) { urls.push(media.url); total += media.bytes; }
        jobs.push({ lesson: lesson, urls: urls, media: media ? media.url : null });
      });
      var shared = [pack.page, pack.journal];
      var done = 0;
      start.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      status.textContent = "Saving… 0 of " + megabytes(total);
      function progress(bytes) {
        done += bytes;
        bar.value = total ? Math.min(100, Math.round(done * 100 / total)) : 100;
        status.textContent = "Saving… " + megabytes(done) + " of " + megabytes(total);
      }
      caches.open(MINE).then(function (cache) {
        return readIndex(cache).then(function (index) {
          var all = jobs.reduce(function (previous, job) {
            return previous.then(function () {
              return job.urls.reduce(function (prev, url) {
                return prev.then(function () {
                  return download(url, url === job.media ? progress : function () {}).then(function (file) {
                    return cache.put(url, new Response(file.blob, { headers: { "Content-Type": file.type } }));
                  });
                });
              }, Promise.resolve()).then(function () {
                index.lessons[job.lesson.id] = {
                  title: job.lesson.title,
                  page: job.lesson.page,
                  unit: pack.unit,
                  urls: job.urls,
                  media: job.media,
                  media_of: job.lesson.media_of || null
                };
              });
            });
          }, Promise.resolve());
          return all.then(function () {
            return Promise.all(shared.map(function (url) {
              return download(url, function () {}).then(function (file) {
                return cache.put(url, new Response(file.blob, { headers: { "Content-Type": file.type } }));
              });
            }));
          }).then(function () {
            index.lastCheck = Date.now();
            return writeIndex(cache, index);
          });
        });
      }).then(function () {
        bar.value = 100;
        start.disabled = false;
        return showSaved();
      }, function () {
        start.disabled = false;
        status.textContent = "Saving stopped (the connection dropped or the device is full). Press Save for offline to try again.";
      });
    });

    remove.addEventListener("click", function () {
      caches.open(MINE).then(function (cache) {
        return readIndex(cache).then(function (index) {
          return removeLessons(cache, index, pack.lessons.map(function (lesson) { return String(lesson.id); }));
        });
      }).then(function () {
        remove.hidden = true;
        status.textContent = "Removed from this device.";
      });
    });
  }

  function listSaved(list) {
    caches.has(MINE).then(function (has) {
      if (!has || !USER) return;
      return caches.open(MINE).then(readIndex).then(function (index) {
        Object.keys(index.lessons).forEach(function (id) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = index.lessons[id].page;
          link.textContent = index.lessons[id].title;
          item.appendChild(link);
          list.appendChild(item);
        });
      });
    });
  }

  function init() {
    ready.then(function () { return Promise.all([check(), flush()]); }).then(function () {
      var panel = document.querySelector("[data-offline-save]");
      if (panel && USER) setUpSave(panel);
      var list = document.querySelector("[data-offline-lessons]");
      if (list) listSaved(list);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
