"""A message's controls on a 360 px phone, with JavaScript and without, against the real server
and pc_node running the bundled tiny model: swipes, edit, markdown, delete, branch, stop and
retry, and the reply that appears by itself without JavaScript."""

from __future__ import annotations

import re

from tests.chat_frames import check_client_frame, check_server_frame
from tests.e2e.conftest import device, sync_api

expect = sync_api.expect
REPLY_WAIT = 90_000
OPEN = re.compile(r"\bopen\b")


def _new_dialog(page, server) -> str:
    page.goto(server.url + "/")
    page.click("text=Алиса")
    page.click("button:has-text('Новый диалог')")
    page.wait_for_url("**/chat/*")
    return page.url.split("?")[0].split("#")[0]


def _finished(locator):
    expect(locator).not_to_have_class(OPEN, timeout=REPLY_WAIT)


def _menu(page, message, item: str):
    message.locator("details.more > summary").click()
    message.locator("details.more .menu").get_by_text(item, exact=True).click()


def test_swipes_edit_markdown_delete_branch_with_javascript(browser, server, tmp_path):
    phone = device(browser, server)
    sent, received = [], []  # every chat socket frame, checked against docs/openapi.json

    def record(socket):
        socket.on("framesent", lambda frame: sent.append(frame))
        socket.on("framereceived", lambda frame: received.append(frame))

    phone.on("websocket", record)
    _new_dialog(phone, server)
    phone.fill("#message", "Привет! Как дела?")
    phone.keyboard.press("Enter")
    expect(phone.locator(".msg-assistant")).to_have_count(2)  # the greeting, then the reply
    reply = phone.locator(".msg-assistant").last
    _finished(reply)
    expect(phone.locator(".composer .stop")).to_be_hidden()  # «Стоп» only while one is written

    for count in (2, 3):  # another answer twice: ← 3/3 →
        _menu(phone, reply, "Другой ответ")
        expect(reply.locator(".swipes")).to_contain_text(f"{count}/{count}", timeout=REPLY_WAIT)
        _finished(reply)
    third = reply.locator(".body").inner_text()
    reply.locator(".swipes button", has_text="←").click()
    expect(reply.locator(".swipes")).to_contain_text("2/3")
    expect(reply.locator(".body")).not_to_have_text(third)
    second = reply.locator(".body").inner_text()
    phone.reload()  # the version shown survives a reload
    reply = phone.locator(".msg-assistant").last
    expect(reply.locator(".swipes")).to_contain_text("2/3")
    expect(reply.locator(".body")).to_have_text(second)
    phone.screenshot(path=str(tmp_path / "swipes.png"))

    # The person's own message, edited: the answer after it is written again (a 4th version).
    mine = phone.locator(".msg-user").last
    _menu(phone, mine, "Изменить")
    mine.locator(".panel textarea").fill("Как погода?")
    phone.screenshot(path=str(tmp_path / "edit.png"))
    mine.locator(".panel button", has_text="Сохранить").click()
    expect(mine.locator(".body")).to_have_text("Как погода?")
    expect(mine).to_contain_text("изменено")
    expect(reply.locator(".swipes")).to_contain_text("4/4", timeout=REPLY_WAIT)
    _finished(reply)

    # A reply corrected by hand, in markdown: the roleplay *action* in italics.
    _menu(phone, reply, "Изменить")
    reply.locator(".panel textarea").fill("*улыбается* **Солнечно** и тепло.\n\n- без дождя")
    reply.locator(".panel button", has_text="Сохранить").click()
    expect(reply.locator(".body em")).to_have_text("улыбается")
    expect(reply.locator(".body strong")).to_have_text("Солнечно")
    expect(reply.locator(".body li")).to_have_text("без дождя")
    phone.screenshot(path=str(tmp_path / "markdown.png"))

    # A branch from my message: a new dialog with the history up to it.
    dialog_url = phone.url
    _menu(phone, mine, "Новый диалог отсюда")
    phone.wait_for_url(lambda url: "/chat/" in url and url != dialog_url)
    expect(phone.locator(".msg")).to_have_count(2)  # the greeting and my message
    expect(phone.locator(".msg-user .body")).to_have_text("Как погода?")
    phone.goto(dialog_url)

    # Delete asks first; then the reply is gone on this device and on the person's other one.
    laptop = device(browser, server, width=1280, height=800)
    laptop.goto(dialog_url)
    expect(laptop.locator(".msg")).to_have_count(3)
    reply = phone.locator(".msg-assistant").last
    _menu(phone, reply, "Удалить…")
    expect(reply.locator(".panel")).to_contain_text("Удалить сообщение?")
    phone.screenshot(path=str(tmp_path / "delete.png"))
    reply.locator(".panel button", has_text="Удалить это сообщение").click()
    expect(phone.locator(".msg")).to_have_count(2)
    expect(laptop.locator(".msg")).to_have_count(2)  # live, over the socket
    laptop.context.close()

    # Stop, then «Повторить»: the reply is written again in its place.
    phone.fill("#message", "Расскажи длинную историю про кошек.")
    phone.keyboard.press("Enter")
    expect(phone.locator(".msg-assistant")).to_have_count(2)
    stop = phone.locator(".composer .stop")
    expect(stop).to_be_visible()
    stop.click()
    reply = phone.locator(".msg-assistant").last
    expect(reply).to_contain_text("ответ остановлен", timeout=REPLY_WAIT)
    count = phone.locator(".msg").count()
    reply.locator("button", has_text="Повторить").click()
    expect(reply).not_to_contain_text("ответ остановлен", timeout=REPLY_WAIT)
    _finished(reply)
    expect(reply.locator(".body")).not_to_be_empty()
    expect(phone.locator(".msg")).to_have_count(count)
    phone.screenshot(path=str(tmp_path / "retried.png"))
    phone.context.close()
    assert sent and received
    for frame in sent:
        check_client_frame(frame)
    kinds = {kind for frame in received for kind in check_server_frame(frame)}
    assert {"NewMessages", "ChangedMessage", "RemovedMessage", "ReplyDelta", "AiState",
            "SentAck"} <= kinds  # fmt: skip


def test_without_javascript_the_reply_appears_and_the_controls_work(browser, server, tmp_path):
    signed_in = device(browser, server)
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="ru-RU",
        java_script_enabled=False,
        storage_state=signed_in.context.storage_state(),
    )
    signed_in.context.close()
    page = context.new_page()
    dialog_url = _new_dialog(page, server)
    page.fill("#message", "Привет без скриптов")
    page.click("#composer button[type=submit]")
    expect(page.locator(".msg-assistant")).to_have_count(2)
    reply = page.locator(".msg-assistant").last
    _finished(reply)  # no click: the page reloads itself until the reply is there
    expect(reply.locator(".body")).not_to_be_empty()
    page.screenshot(path=str(tmp_path / "nojs-reply.png"))

    _menu(page, reply, "Другой ответ")  # a <details> menu and a plain form: no script needed
    reply = page.locator(".msg-assistant").last
    expect(reply.locator(".swipes")).to_contain_text("2/2", timeout=REPLY_WAIT)
    _finished(reply)

    _menu(page, reply, "Удалить…")
    page.wait_for_url("**/delete")
    expect(page.locator("h1")).to_have_text("Удалить сообщение")
    page.screenshot(path=str(tmp_path / "nojs-delete.png"))
    page.click("button:has-text('Удалить это сообщение')")
    page.wait_for_url(re.compile(re.escape(dialog_url) + r"(#.*)?$"))
    expect(page.locator(".msg-assistant")).to_have_count(1)  # the greeting is left

    # Search (a plain GET form in ☰) finds my message and leads to it.
    page.click(".chat-bar .site-menu > summary")
    page.fill("#dialog-search", "скриптов")
    page.click("form[role=search] button")
    expect(page.locator("#search-results mark")).to_have_text("скриптов")
    page.screenshot(path=str(tmp_path / "nojs-search.png"))
    page.click("#search-results a:has-text('К сообщению')")
    expect(page.locator(".msg-user .body")).to_contain_text("Привет без скриптов")

    page.goto(server.url + "/")
    page.click("text=Алиса")
    page.locator("#dialogs details").first.locator("summary").click()
    page.click("text=Удалить диалог…")
    expect(page.locator("h1")).to_contain_text("Удалить диалог")
    page.click("main form button:has-text('Удалить диалог')")
    expect(page.locator(".flash")).to_contain_text("Диалог удалён")
    context.close()


def test_a_persona_made_on_its_page_is_who_the_dialog_has(browser, server, tmp_path):
    phone = device(browser, server)
    phone.goto(server.url + "/")
    phone.click(".site-menu > summary")
    phone.click(".site-menu .menu >> text=Персоны")
    phone.fill("#persona-name", "Лира")
    phone.fill("#persona-description", "Эльфийка-бард, любит загадки.")
    phone.click("main form.stack button:has-text('Сохранить')")
    expect(phone.locator("#personas")).to_contain_text("Лира")
    expect(phone.locator("#personas")).to_contain_text("по умолчанию")
    phone.screenshot(path=str(tmp_path / "personas.png"), full_page=True)
    _new_dialog(phone, server)
    phone.click(".chat-bar .site-menu > summary")
    expect(phone.locator("#persona-id option:checked")).to_have_text("Лира")
    phone.screenshot(path=str(tmp_path / "chat-menu.png"))
    phone.context.close()
