"""The chat journey in a real headless browser (Debian chromium driven by Playwright) against a
real server and pc_node running the bundled tiny model."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.live import live_server, tiny_node

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    if os.environ.get("E2E_REQUIRED"):
        raise RuntimeError("E2E_REQUIRED is set but Debian's chromium is not installed")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("llama_cpp", reason="make setup installs llama-cpp-python")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("e2e")) as running, tiny_node(running):
        output = running.flask("create-admin", "--email", "e2e@example.ru")
        running.password = output.rsplit(": ", 1)[1].strip()
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def device(browser, server):
    """A signed-in phone-sized browser context."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="ru-RU")
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#email", "e2e@example.ru")
    page.fill("#password", server.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(server.url + "/")
    return page


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

    reply.locator(".star button").click()
    expect(reply.locator(".star button")).to_have_text("★")
    phone.goto(server.url + "/favorites")
    expect(phone.locator("#favorites")).to_contain_text(text[:30])

    # Offline: the visited dialog is still readable, marked as a read-only copy.
    phone.goto(dialog_url)
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()  # now the worker controls the page and keeps a copy of it
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator(".offline-copy")).to_be_visible()
    expect(phone.locator(".msg-assistant").last.locator(".body")).to_have_text(text)
    expect(phone.locator("#composer")).to_be_hidden()
    phone.context.set_offline(False)

    phone.goto(dialog_url)
    phone.click("button:has-text('Новый диалог')")
    phone.wait_for_url(lambda url: url != dialog_url and "/chat/" in url)
    expect(phone.locator(".msg-user")).to_have_count(0)
