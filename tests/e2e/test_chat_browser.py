"""The chat journey in a real headless browser (Debian chromium driven by Playwright) against a
real server and pc_node running the bundled tiny model."""

from __future__ import annotations

import re

from tests.e2e.conftest import device, sync_api


def test_chat_journey(browser, server, tmp_path):
    expect = sync_api.expect
    phone = device(browser, server)
    phone.click("text=Алиса")
    phone.click("button:has-text('Новый диалог')")
    phone.wait_for_url("**/chat/*")
    dialog_url = phone.url
    expect(phone.locator(".msg-assistant").first).to_contain_text("Алиса")

    phone.fill("#message", "Привет! Расскажи про кошек.")
    phone.keyboard.press("Enter")
    expect(phone.locator(".msg-user").last).to_contain_text("Привет! Расскажи про кошек.")
    reply = phone.locator(".msg-assistant").last
    expect(reply.locator(".body")).not_to_be_empty(timeout=30_000)  # streaming has begun
    phone.screenshot(path=str(tmp_path / "streaming.png"))

    phone.reload()  # mid-reply (or just after): the text so far, then the rest
    reply = phone.locator(".msg-assistant").last
    expect(reply).not_to_have_class(re.compile(r"\bopen\b"), timeout=60_000)
    expect(reply.locator(".body")).not_to_be_empty()
    text = reply.locator(".body").inner_text()
    expect(phone.locator(".msg-user .status").last).to_have_text("✓✓")

    laptop = device(browser, server)
    laptop.goto(dialog_url)
    expect(laptop.locator(".msg-assistant").last.locator(".body")).to_have_text(text)

    reply.locator("button.star").click()
    expect(reply.locator("button.star")).to_have_text("★")
    phone.reload()  # the star is the starred message's own, not every message's
    expect(phone.locator("button.star", has_text="★")).to_have_count(1)
    expect(phone.locator(".msg").last.locator("button.star")).to_have_text("★")
    phone.goto(server.url + "/favorites")
    expect(phone.locator("#favorites")).to_contain_text(text[:30])

    # A long paste goes through the composer, which says what sending will keep.
    phone.goto(dialog_url)
    phone.fill("#message", "н" * 1000 + " и вопрос в конце?")
    expect(phone.locator(".counter")).to_contain_text("Лишние 18 уберём из середины")
    phone.screenshot(path=str(tmp_path / "long_paste.png"))

    # Offline: the visited dialog is still readable, marked as a read-only copy.
    phone.goto(dialog_url)
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()  # now the worker controls the page and keeps a copy of it
    for path in ("/favorites", "/"):  # read once online, with the worker in control
        phone.goto(server.url + path)
    phone.click("text=Алиса")  # from the catalogue: the character's page and its dialogs
    character_url = phone.url
    phone.goto(dialog_url)
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator(".offline-copy")).to_be_visible()
    expect(phone.locator(".msg-assistant").last.locator(".body")).to_have_text(text)
    expect(phone.locator("#composer")).to_be_hidden()
    phone.screenshot(path=str(tmp_path / "offline_dialog.png"))
    # The catalogue, the dialog list and favorites are readable too; a page never opened here
    # is our own offline page, not the browser's error.
    for url, seen in ((server.url + "/", "Алиса"), (character_url, "Диалоги"),
                      (server.url + "/favorites", text[:30])):  # fmt: skip
        phone.goto(url)
        expect(phone.locator(".offline-copy")).to_be_visible()
        expect(phone.locator("main")).to_contain_text(seen)
    phone.goto(server.url + "/personas")
    expect(phone.locator("h1")).to_have_text("Нет связи")
    phone.screenshot(path=str(tmp_path / "offline_page.png"))
    phone.context.set_offline(False)

    phone.goto(dialog_url)
    phone.click(".chat-bar .site-menu > summary")  # on a phone the dialog's other actions are in ☰
    phone.get_by_role("button", name="Новый диалог", exact=True).click()
    phone.wait_for_url(lambda url: url != dialog_url and "/chat/" in url)
    expect(phone.locator(".msg-user")).to_have_count(0)


def test_a_reply_finished_in_a_background_tab_is_notified(browser, server):
    phone = device(browser, server)
    # The page sees a hidden tab and notifications allowed; each one it shows is recorded.
    phone.add_init_script(
        """
        window.shown = [];
        window.Notification = function (title, options) {
          window.shown.push([title, options.body]);
        };
        window.Notification.permission = "granted";
        window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
        Object.defineProperty(document, "hidden", { get: function () { return true; } });
        """
    )
    phone.goto(server.url + "/")
    phone.click("text=Алиса")
    phone.click("button:has-text('Новый диалог')")
    phone.wait_for_url("**/chat/*")
    phone.fill("#message", "Привет из фона")
    phone.keyboard.press("Enter")
    sync_api.expect(phone.locator(".msg-assistant")).to_have_count(2)
    reply = phone.locator(".msg-assistant").last
    sync_api.expect(reply).not_to_have_class(re.compile(r"\bopen\b"), timeout=90_000)
    phone.wait_for_function("window.shown.length === 1")
    title, body = phone.evaluate("window.shown[0]")
    assert title == "Алиса" and body == reply.locator(".body").inner_text()[:140]
    phone.context.close()
