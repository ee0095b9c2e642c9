// Widget polling: every element with data-poll="N" asks htmx to refresh it every N seconds, only
// while the tab is visible (and at once when it becomes visible again). Without JavaScript the
// widgets show the values of page load and an "update" link.
// Not htmx's own `every Ns [document.visibilityState == 'visible']`: htmx evaluates a trigger's
// filter with Function(), which our Content-Security-Policy (script-src 'self', no 'unsafe-eval')
// refuses, so the filtered trigger would never fire.
(function () {
  "use strict";
  function due(element, now) {
    var every = (parseInt(element.dataset.poll, 10) || 10) * 1000;
    var last = parseInt(element.dataset.polled || "0", 10);
    return now - last >= every;
  }
  function tick(force) {
    if (document.visibilityState !== "visible" || !window.htmx) return;
    var now = Date.now();
    document.querySelectorAll("[data-poll]").forEach(function (element) {
      if (force || due(element, now)) {
        element.dataset.polled = String(now);
        window.htmx.trigger(element, "poll");
      }
    });
  }
  // A swapped-in widget is new: count its interval from now.
  document.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (element.dataset && element.dataset.poll) element.dataset.polled = String(Date.now());
  });
  setInterval(function () { tick(false); }, 1000);
  document.addEventListener("visibilitychange", function () { tick(true); });
})();
