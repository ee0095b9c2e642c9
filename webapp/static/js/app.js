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

  // A failed htmx request would otherwise do nothing visible; tell the person why, in their language
  // (the texts come from data attributes rendered by the server).
  document.addEventListener("htmx:sendError", function () { say(toast && toast.dataset.offline); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    say(toast && (status === 429 ? toast.dataset.slow : toast.dataset.failed));
  });
})();
