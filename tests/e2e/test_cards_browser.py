"""A manager on a phone imports a card, reads what the model will get, edits the lorebook and
tests it: with JavaScript and without."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import device

DATA = Path(__file__).resolve().parents[1] / "characters" / "data"


FOX = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Лиса Патрикеевна",
        "description": "Рыжая лиса из русских сказок, хитрая и льстивая.",
        "first_mes": "Ах, какой гость!",
        "mes_example": "<START>\n{{user}}: Кто ты?\n{{char}}: Лиса, кума твоя.",
        "character_book": {"entries": [{"keys": ["key2"], "content": "Lorebook entry 2 content."}]},
    },
}


@pytest.mark.parametrize(
    ("script", "card"), [(True, "synthetic_v3_many_assets.charx"), (False, "fox.json")],
    ids=["js", "no-js"],
)  # fmt: skip
def test_manager_imports_a_card_and_tests_its_lorebook(browser, server, tmp_path, script, card):
    (tmp_path / "fox.json").write_text(json.dumps(FOX, ensure_ascii=False), encoding="utf-8")
    source = DATA / card if (DATA / card).exists() else tmp_path / card
    page = device(browser, server)
    if not script:
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, locale="ru-RU", java_script_enabled=False,
            storage_state=page.context.storage_state(),
        )  # fmt: skip
        page = context.new_page()
    page.goto(server.url + "/manage/characters/import")
    page.set_input_files("#card", str(source))
    page.click("#import-form button[type=submit]")
    page.wait_for_url(re.compile(r"/manage/characters/\d+$"))
    assert page.locator("#definition").input_value()  # the card's description, for the model
    if card.endswith(".charx"):  # its icon became the avatar
        assert page.locator("img.avatar-large").count() == 1
    page.screenshot(path=str(tmp_path / f"editor-{script}.png"), full_page=True)
    page.click("text=Лорбук")
    page.wait_for_url("**/lorebook")
    page.fill("#message", "what about key2?")
    page.click("form[method=get] button[type=submit]")
    page.wait_for_url("**/lorebook?message=*")
    assert "Lorebook entry 2 content." in page.locator("ul.lore-result").inner_text()
    page.screenshot(path=str(tmp_path / f"lorebook-{script}.png"), full_page=True)
    page.context.close()
