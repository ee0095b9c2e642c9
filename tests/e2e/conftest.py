"""One live server with pc_node and one headless chromium for every browser journey."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest
from playwright import sync_api

from tests.live import live_server, tiny_node

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "e2e@example.ru"


def _require(ready: bool, reason: str) -> None:
    if not ready:
        if os.environ.get("E2E_REQUIRED"):
            raise RuntimeError(f"E2E_REQUIRED is set but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    _require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python is missing")
    # Every journey signs the one admin in on a device of its own: more than the 5 devices a
    # person may have at once.
    with (
        live_server(tmp_path_factory.mktemp("e2e"), MAX_DEVICES="50") as running,
        tiny_node(running),
    ):
        output = running.flask("create-admin", "--email", EMAIL)
        running.password = output.rsplit(": ", 1)[1].strip()
        yield running


@pytest.fixture(scope="session")
def browser():
    chromium_path = shutil.which("chromium") or shutil.which("chromium-browser")
    _require(chromium_path is not None, "Debian's chromium is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def device(browser, server, width: int = 360, height: int = 740):
    """A signed-in browser context, phone-sized unless told otherwise."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ru-RU")
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#email", EMAIL)
    page.fill("#password", server.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(server.url + "/")
    return page
