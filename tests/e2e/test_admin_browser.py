"""The admin's journey in a real browser: live widgets fed by a real pc_node and the VDS
collector, polling that pauses in a hidden tab, thresholds that recolour a widget, and a user's
activity reached from the users table."""

from __future__ import annotations

import re

from tests.e2e.conftest import device, sync_api

SET_VISIBILITY = """state => {
  Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_admin_watches_live_widgets_and_tunes_a_threshold(browser, server, tmp_path):
    expect = sync_api.expect
    page = device(browser, server, width=1280, height=900)
    page.goto(server.url + "/admin/")
    expect(page.locator("#w-ai")).to_contain_text("ИИ в сети")
    pc_ram = page.locator("#w-pc figure", has_text="RAM")
    vds_cpu = page.locator("#w-vds figure", has_text="CPU")
    # The node reports every 5 s and the collector samples every 10 s: the htmx polls bring
    # readings in without a reload.
    expect(pc_ram).not_to_have_class(re.compile(r"lvl-none"), timeout=20_000)
    expect(vds_cpu).not_to_have_class(re.compile(r"lvl-none"), timeout=25_000)
    expect(pc_ram).to_have_class(re.compile(r"lvl-ok"))
    page.screenshot(path=str(tmp_path / "dashboard.png"))

    # A hidden tab stops polling; showing it again refreshes every widget at once.
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/monitoring/" in r.url else None)
    page.evaluate(SET_VISIBILITY, "hidden")
    page.wait_for_timeout(6_000)  # longer than the fastest interval (5 s)
    assert polls == []
    with page.expect_response(lambda r: "/monitoring/widgets/pc" in r.url):
        page.evaluate(SET_VISIBILITY, "visible")

    # Thresholds: a warning at or above critical is refused with the field named; a valid
    # change recolours the RAM ring at the next poll.
    page.goto(server.url + "/admin/thresholds")
    row = page.locator("#t-pc-ram_used_gb")
    row.locator("input[name=warning]").fill("0.2")
    row.locator("input[name=critical]").fill("0.1")
    row.locator("button").click()
    row = page.locator("#t-pc-ram_used_gb")
    expect(row.locator(".error")).to_contain_text("Предупреждение должно быть ниже")
    expect(row.locator("input[name=warning]")).to_have_attribute("aria-invalid", "true")
    row.locator("input[name=warning]").fill("0.1")
    row.locator("input[name=critical]").fill("0.2")
    row.locator("input[name=hysteresis]").fill("0")
    row.locator("button").click()
    page.goto(server.url + "/admin/")
    expect(page.locator("#w-pc figure", has_text="RAM")).to_have_class(re.compile(r"lvl-critical"))

    # From the users table to one person's activity: their sign-in from this browser is there.
    page.goto(server.url + "/admin/users")
    page.click("#users a:has-text('Администратор')")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#logins").locator("xpath=..")).to_contain_text("вошёл")
    expect(page.locator("#devices").locator("xpath=..")).to_contain_text("активен")
