"""Character cards: import (JSON/PNG, V1/V2/V3) through the editor's rules, lossless export."""

import base64
import io
import json

from PIL import Image, PngImagePlugin
from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.characters import cards
from webapp.characters.models import Character
from webapp.chat.replies import character_card_prompt

V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Лиса Алиса",
        "description": "Хитрая лиса из сказки.",
        "personality": "Хитрая, льстивая.",
        "scenario": "Лесная опушка.",
        "first_mes": "Ах, какой гость!",
        "mes_example": "<START>\n{{user}}: Кто ты?\n{{char}}: Я лиса.\n<START>\n"
        "{{user}}: Куда идёшь?\n{{char}}: В поле чудес.",
        "creator_notes": "Только для взрослых читателей сказок.",
        "system_prompt": "{{original}} Говори сладко.",
        "post_history_instructions": "Не выходи из роли.",
        "alternate_greetings": ["Здравствуй, милок!"],
        "character_book": {"entries": [{"keys": ["кот"], "content": "Кот Базилио — друг."}]},
        "tags": ["сказка", "лиса"],
        "creator": "anon",
        "character_version": "1.2",
        "extensions": {"talkativeness": "0.5", "custom": {"x": 1}},
        "some_future_field": [1, 2, 3],
    },
}


def upload(client, blob: bytes, name: str, **extra):
    token = csrf_token(client, "/manage/characters/import")
    return client.post(
        "/manage/characters/import",
        data={"csrf_token": token, "card": (io.BytesIO(blob), name), **extra},
        content_type="multipart/form-data",
    )


def png_with(chunks: dict[str, dict]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, card in chunks.items():
        info.add_text(key, base64.b64encode(json.dumps(card).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (32, 32)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def imported(db_session, name="Лиса Алиса") -> Character:
    return db_session.scalar(select(Character).where(Character.name == name))


def test_v2_json_round_trip_is_equivalent(client, login_as, db_session):
    login_as("manager")
    assert upload(client, json.dumps(V2).encode(), "fox.json").status_code == 302
    character = imported(db_session)
    assert character.state == "draft" and character.greeting == "Ах, какой гость!"
    assert character.examples == [
        {"user": "Кто ты?", "reply": "Я лиса."},
        {"user": "Куда идёшь?", "reply": "В поле чудес."},
    ]
    assert character.system_prompt.startswith(cards.DEFAULT_PROMPT)
    exported = client.get(f"/manage/characters/{character.id}/card.json").json
    assert exported == V2 | {"data": V2["data"]}


def test_changes_made_here_reach_the_exported_card(client, login_as, db_session):
    login_as("manager")
    upload(client, json.dumps(V2).encode(), "fox.json")
    character = imported(db_session)
    character.description = "Лиса, но честная."
    db_session.commit()
    data = client.get(f"/manage/characters/{character.id}/card.json?spec=v3").json
    assert data["spec"] == "chara_card_v3"
    assert data["data"]["description"] == "Лиса, но честная."
    assert data["data"]["character_book"] == V2["data"]["character_book"]
    assert data["data"]["some_future_field"] == [1, 2, 3]


def test_png_import_prefers_v3_and_png_export_carries_both(client, login_as, db_session):
    login_as("manager")
    v3 = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {**V2["data"], "name": "Лиса V3", "group_only_greetings": []},
    }
    assert upload(client, png_with({"chara": V2, "ccv3": v3}), "fox.png").status_code == 302
    character = imported(db_session, "Лиса V3")
    response = client.get(f"/manage/characters/{character.id}/card.png")
    assert response.mimetype == "image/png"
    with Image.open(io.BytesIO(response.get_data())) as image:
        chara = json.loads(base64.b64decode(image.text["chara"]))
        ccv3 = json.loads(base64.b64decode(image.text["ccv3"]))
    assert chara["spec"] == "chara_card_v2" and ccv3["spec"] == "chara_card_v3"
    assert ccv3["data"]["name"] == "Лиса V3"


def test_v1_flat_card_is_understood(client, login_as, db_session):
    login_as("manager")
    v1 = {
        "name": "Колобок",
        "description": "Круглый.",
        "personality": "Весёлый",
        "scenario": "Дорога",
        "first_mes": "Я от бабушки ушёл!",
        "mes_example": "",
    }
    assert upload(client, json.dumps(v1).encode(), "bun.json").status_code == 302
    assert imported(db_session, "Колобок").greeting == "Я от бабушки ушёл!"


def test_every_violation_of_an_import_is_reported_at_once(client, login_as, db_session):
    login_as("manager")
    bad = {
        "spec": "chara_card_v2",
        "data": {
            "name": "Я",
            "description": "д" * 600,
            "mes_example": "<START>\n{{user}}: a\n{{char}}: b\n" * 6,
        },
    }
    page = upload(client, json.dumps(bad).encode(), "bad.json").get_data(as_text=True)
    for message in ("Имя: от 2 до 50", "Описание: не длиннее 500", "Примеры диалогов: не больше"):
        assert message in page, message
    assert upload(client, b"not a card", "x.json").status_code == 422
    no_card = upload(client, png_with({}), "plain.png").get_data(as_text=True)
    assert "в PNG нет карточки" in no_card


def test_card_fields_reach_the_model_but_creator_notes_do_not(client, login_as, db_session):
    login_as("manager")
    upload(client, json.dumps(V2).encode(), "fox.json")
    prompt = character_card_prompt(imported(db_session))
    assert "Характер: Хитрая, льстивая." in prompt.before and "Сценарий: Лесная" in prompt.before
    assert prompt.after == "Не выходи из роли."
    assert "взрослых" not in prompt.before + prompt.after
    page = client.get(f"/manage/characters/{imported(db_session).id}").get_data(as_text=True)
    assert "Только для взрослых читателей сказок." in page  # shown to people
