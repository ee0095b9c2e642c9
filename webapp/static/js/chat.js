// The live chat on top of the htmx ws extension. Without it the page still works: the form posts
// and the page refreshes until the reply is there.
(function () {
  "use strict";
  var chat = document.querySelector(".chat[ws-connect]");
  if (!chat) return;
  var messages = document.getElementById("messages");
  var composer = document.getElementById("composer");
  var text = document.getElementById("message");
  var counter = composer.querySelector(".counter");
  var offline = document.getElementById("offline");
  var retries = 0;

  function newClientId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "")
      : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function lastId() {
    var all = messages.querySelectorAll("article.msg");
    return all.length ? all[all.length - 1].dataset.id : "0";
  }

  function scrollDown() { window.scrollTo(0, document.body.scrollHeight); }

  text.addEventListener("input", function () {
    var left = 1000 - text.value.length;  // the server keeps the first 900 and the last 100
    counter.textContent = left >= 0 ? counter.dataset.left.replace("{n}", left)
                                    : counter.dataset.over.replace("{n}", -left);
  });
  text.addEventListener("keydown", function (event) {  // Enter sends, Shift+Enter breaks the line
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  // The draft goes to the server every 10 s while it changes: a sudden stop loses seconds of
  // typing at most, and the page puts it back when it opens again.
  var savedDraft = text.value;
  var draftForm = document.getElementById("draft-form");
  setInterval(function () {
    if (text.value !== savedDraft && offline.hidden) {
      savedDraft = text.value;
      htmx.trigger(draftForm, "chat:draft");
    }
  }, 10000);

  document.addEventListener("htmx:wsConfigSend", function (event) {
    if (event.target === composer && !text.value.trim()) event.preventDefault();
  });
  // The box is cleared when the server says the message is stored (its acknowledgement names
  // the message's client_id), not when it was sent: a message lost on the way stays typed, and
  // sending it again under the same client_id never stores it twice.
  document.addEventListener("htmx:wsAfterMessage", function () {
    showStop();
    var ack = document.getElementById("sent-ack");
    var clientId = composer.querySelector("[name=client_id]");
    if (!ack || ack.dataset.clientId !== clientId.value) return;
    text.value = "";
    savedDraft = "";
    clientId.value = newClientId();
    text.dispatchEvent(new Event("input"));
  });

  // Every (re)connect says which messages this page already has; the server sends the rest and
  // the text so far of any reply being written.
  document.addEventListener("htmx:wsOpen", function () {
    retries = 0;
    offline.hidden = true;
    var hello = document.getElementById("hello-form");
    hello.querySelector("[name=last_id]").value = lastId();
    htmx.trigger(hello, "chat:hello");
  });
  document.addEventListener("htmx:wsClose", function (event) {
    offline.hidden = false;
    var code = event.detail.event.code;
    var wrapper = event.detail.socketWrapper;
    if ([1006, 1011, 1012, 1013, 4403, 4404].indexOf(code) >= 0) return;  // the extension retries
    retries += 1;
    var delay = Math.min(30000, 500 * Math.pow(2, retries)) * (0.5 + Math.random() / 2);
    setTimeout(function () {
      // 4401: the access token ran out; any page request refreshes the cookies first.
      var refresh = code === 4401 ? fetch("/auth/ping", { credentials: "same-origin" }) : Promise.resolve();
      refresh.then(function () { wrapper.reconnect(); }, function () { wrapper.reconnect(); });
    }, delay);
  });

  // «Стоп» only while a reply is being written.
  var stopButton = composer.querySelector(".stop");
  function showStop() { stopButton.hidden = !messages.querySelector("article.msg.open"); }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target === messages || messages.contains(event.detail.target)) {
      observe();
      showStop();
      scrollDown();
    }
  });

  // Read receipts: the newest of the character's messages that was really on screen.
  var seenUpto = 0;
  var seenForm = document.getElementById("seen-form");
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      var id = parseInt(entry.target.dataset.id, 10);
      if (entry.isIntersecting && id > seenUpto) {
        seenUpto = id;
        seenForm.querySelector("[name=upto]").value = id;
        htmx.trigger(seenForm, "chat:seen");
      }
    });
  }) : null;
  function observe() {
    if (!observer) return;
    messages.querySelectorAll("article.msg-assistant:not([data-watched])").forEach(function (el) {
      el.dataset.watched = "1";
      observer.observe(el);
    });
  }
  // A message's controls are plain forms and links (they work without the script). Here they
  // go in the background: the change itself comes back over the socket, on every device.
  chat.dataset.js = "1";
  var notice = document.getElementById("chat-notice");
  function closeMenus() {
    messages.querySelectorAll("details.more[open]").forEach(function (d) { d.open = false; });
  }
  function request(url, options) {
    options.headers = { "HX-Request": "true" };
    options.credentials = "same-origin";
    return fetch(url, options).then(function (response) {
      return response.text().then(function (body) {
        if (!response.ok) throw new Error(body || response.statusText);
        return { body: body, redirect: response.headers.get("HX-Redirect") };
      });
    }).catch(function (error) {
      notice.textContent = error.message;
      throw error;
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-live")) return;
    event.preventDefault();
    var button = event.submitter;
    var data = new FormData(form);
    if (!data.has("csrf_token")) data.append("csrf_token", act.querySelector("[name=csrf_token]").value);
    if (button && button.name) data.append(button.name, button.value);
    var url = button && button.hasAttribute("formaction") ? button.formAction : form.action;
    closeMenus();
    request(url, { method: "POST", body: data }).then(function (result) {
      if (result.redirect) { window.location.href = result.redirect; return; }
      notice.textContent = "";
      var panel = form.closest(".panel");
      if (panel) panel.remove();
    }, function () {});
  });
  var act = document.getElementById("act");
  messages.addEventListener("click", function (event) {
    var target = event.target.closest("[data-panel], [data-dismiss], .copy");
    if (!target) return;
    var article = target.closest("article.msg");
    event.preventDefault();
    if (target.hasAttribute("data-dismiss")) { target.closest(".panel").remove(); return; }
    closeMenus();
    if (target.classList.contains("copy")) {
      var body = article.querySelector(".body").innerText;
      if (navigator.clipboard) navigator.clipboard.writeText(body).then(function () {
        notice.textContent = notice.dataset.copied || "";
      });
      return;
    }
    request(target.href, { method: "GET" }).then(function (result) {
      var open = article.querySelector(".panel");
      if (open) open.remove();
      article.insertAdjacentHTML("beforeend", result.body);
      var field = article.querySelector(".panel textarea, .panel button");
      if (field) field.focus();
    }, function () {});
  });

  // A reply finished while the tab was in the background: a notification, once the person
  // allowed them (the menu's button asks; browsers only ask after a click).
  var notifyButton = document.getElementById("notify-toggle");
  var writing = openIds();
  function openIds() {
    return Array.prototype.map.call(messages.querySelectorAll("article.msg.open"), function (el) {
      return el.id;
    });
  }
  if (notifyButton && "Notification" in window && Notification.permission !== "denied") {
    notifyButton.hidden = Notification.permission === "granted";
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        notifyButton.hidden = answer !== "default";
      });
    });
  }
  document.addEventListener("htmx:wsAfterMessage", function () {
    var now = openIds();
    writing.forEach(function (id) {
      var done = document.getElementById(id);
      if (now.indexOf(id) >= 0 || !done || !document.hidden) return;
      if (!("Notification" in window) || Notification.permission !== "granted") return;
      var body = done.querySelector(".body").innerText.slice(0, 140);
      new Notification(chat.dataset.character || document.title, { body: body, tag: id });
    });
    writing = now;
  });

  observe();
  showStop();
  scrollDown();
})();
