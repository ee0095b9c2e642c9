// Our own glue on top of htmx. Everything here is an enhancement: pages work without it.
(function () {
  "use strict";
  var toast = document.getElementById("toast");

  function say(text) {
    if (!toast || !text) return;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { toast.hidden = true; }, 5000);
  }

  // "Send again" buttons wait out the server's pause with a visible countdown. Without JavaScript
  // the button is simply enabled and the server answers with the remaining wait.
  function countdown(button) {
    var left = parseInt(button.dataset.countdown, 10) || 0;
    var label = button.textContent;
    if (left <= 0) return;
    button.disabled = true;
    (function tick() {
      if (left <= 0) { button.disabled = false; button.textContent = label; return; }
      button.textContent = button.dataset.template.replace("{s}", left);
      left -= 1;
      setTimeout(tick, 1000);
    })();
  }
  document.querySelectorAll("[data-countdown]").forEach(countdown);
  document.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll("[data-countdown]").forEach(countdown);
  });

  // Dialogs you opened stay readable offline (see /sw.js).
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }

  // A failed htmx request would otherwise do nothing visible; tell the person why, in their language
  // (the texts come from data attributes rendered by the server).
  document.addEventListener("htmx:sendError", function () { say(toast && toast.dataset.offline); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    say(toast && (status === 429 ? toast.dataset.slow : toast.dataset.failed));
  });
})();
