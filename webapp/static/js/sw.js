// Service worker: the pages people read stay readable offline (read-only copies): the dialogs
// opened, the dialog lists, the catalogue, favorites. Network first; without a network the last
// copy, marked as such; a page never opened here gets our own offline page instead of the
// browser's error. Static files load from the cache. Only GET requests are touched.
"use strict";
var PAGES = "mehhost-pages-v2";
var STATIC = "mehhost-static-v1";
var OFFLINE = "/offline";
var KEEP_PAGES = 40;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(PAGES).then(function (cache) {
    return cache.add(new Request(OFFLINE, { credentials: "same-origin" }));
  }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name !== PAGES && name !== STATIC;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// What is kept: a dialog, a character's page with its dialogs, the catalogue, favorites.
function isKept(url) {
  return !url.search && (/^\/chat\/\d+$/.test(url.pathname) ||
    /^\/characters\/\d+$/.test(url.pathname) || url.pathname === "/" ||
    url.pathname === "/favorites");
}

function remember(request, response) {
  var copy = response.clone();
  caches.open(PAGES).then(function (cache) {
    cache.put(request, copy).then(function () {
      cache.keys().then(function (keys) {  // oldest first: drop what is over the limit
        var pages = keys.filter(function (key) { return new URL(key.url).pathname !== OFFLINE; });
        pages.slice(0, Math.max(0, pages.length - KEEP_PAGES)).forEach(function (key) {
          cache.delete(key);
        });
      });
    });
  });
}

function offlineCopy(response) {
  // Mark the page as a saved copy: the stylesheet then shows a banner and hides the controls.
  return response.text().then(function (html) {
    return new Response(html.replace("<body", "<body data-offline-copy"), {
      headers: { "Content-Type": "text/html; charset=utf-8" }
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(STATIC).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) cache.put(request, response.clone());
          return response;
        });
      });
    }));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      if (isKept(url) && response.ok && !response.redirected) remember(request, response);
      return response;
    }).catch(function () {
      return caches.open(PAGES).then(function (cache) {
        return cache.match(request).then(function (hit) {
          if (hit) return offlineCopy(hit);
          return cache.match(OFFLINE).then(function (page) { return page || Response.error(); });
        });
      });
    }));
  }
});
