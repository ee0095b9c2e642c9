// Service worker: dialogs you opened stay readable offline (read-only), static files load from
// the cache. Only GET requests are touched; everything else goes to the network as usual.
"use strict";
var PAGES = "mehhost-pages-v1";
var STATIC = "mehhost-static-v1";
var KEEP_PAGES = 20;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name !== PAGES && name !== STATIC;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isDialog(url) { return /^\/chat\/\d+$/.test(url.pathname) && !url.search; }

function remember(request, response) {
  var copy = response.clone();
  caches.open(PAGES).then(function (cache) {
    cache.put(request, copy).then(function () {
      cache.keys().then(function (keys) {  // oldest first: drop what is over the limit
        keys.slice(0, Math.max(0, keys.length - KEEP_PAGES)).forEach(function (key) {
          cache.delete(key);
        });
      });
    });
  });
}

function offlineCopy(response) {
  // Mark the page as a saved copy: the stylesheet then shows a banner and hides the composer.
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
  } else if (request.mode === "navigate" && isDialog(url)) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) remember(request, response);
      return response;
    }).catch(function () {
      return caches.match(request, { cacheName: PAGES }).then(function (hit) {
        return hit ? offlineCopy(hit) : Response.error();
      });
    }));
  }
});
