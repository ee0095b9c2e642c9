"""Character cards: import (JSON/PNG, V1/V2/V3) through the editor's rules, lossless export.
The real community cards and hostile files: test_card_files.py."""

import base64
import io
import json

from PIL import Image, PngImagePlugin
from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.characters.models import Character
from webapp.characters.story import Definition
from webapp.chat.context import Turn, build_prompt
from webapp.chat.models import Message

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
    assert character.examples == []  # the card's examples stay in its own format
    # The card's own text, macros and all: the site's default is not written into it.
    assert character.system_prompt == "{{original}} Говори сладко."
    assert character.definition == "Хитрая лиса из сказки."
    assert character.description == "Только для взрослых читателей сказок."  # the blurb
    assert character.mes_example == V2["data"]["mes_example"]
    exported = client.get(f"/manage/characters/{character.id}/card.json").json
    assert exported == V2


def test_changes_made_here_reach_the_exported_card(client, login_as, db_session):
    login_as("manager")
    upload(client, json.dumps(V2).encode(), "fox.json")
    character = imported(db_session)
    character.definition = "Лиса, но честная."
    character.description = "Блёрб каталога"
    db_session.commit()
    data = client.get(f"/manage/characters/{character.id}/card.json?spec=v3").json
    assert data["spec"] == "chara_card_v3"
    assert data["data"]["description"] == "Лиса, но честная."
    assert data["data"]["creator_notes"] == V2["data"]["creator_notes"]  # the blurb is ours
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
            "description": "д" * 60_000,
            "tags": [f"тег{n}" for n in range(60)],
        },
    }
    page = upload(client, json.dumps(bad).encode(), "bad.json").get_data(as_text=True)
    for message in ("Имя: от 2 до 50", "всего не больше 50 000 символов", "Теги: не больше 50"):
        assert message in page, message
    assert upload(client, b"not a card", "x.json").status_code == 422
    no_card = upload(client, png_with({}), "plain.png").get_data(as_text=True)
    assert "в PNG нет карточки" in no_card


def test_card_fields_reach_the_model_but_creator_notes_do_not(client, login_as, db_session):
    login_as("manager")
    upload(client, json.dumps(V2).encode(), "fox.json")
    messages, _ = build_prompt(
        Definition.of(imported(db_session)), [Turn(1, "user", "Привет")], user_name="Вася"
    )
    system = messages[0]["content"]
    assert system.startswith(cards_default()) and "Говори сладко." in system
    assert "Хитрая лиса из сказки." in system
    assert "Характер Лиса Алиса: Хитрая, льстивая." in system and "Сценарий: Лесная" in system
    assert messages[-1] == {"role": "system", "content": "Не выходи из роли."}
    assert {"role": "assistant", "content": "В поле чудес."} in messages
    assert "взрослых" not in json.dumps(messages, ensure_ascii=False)
    page = client.get(f"/manage/characters/{imported(db_session).id}").get_data(as_text=True)
    assert "Только для взрослых читателей сказок." in page  # shown to people


def cards_default() -> str:
    from webapp.characters.story import DEFAULT_PROMPT

    return DEFAULT_PROMPT.replace("{{char}}", "Лиса Алиса")


def test_two_cards_without_a_system_prompt_are_not_duplicates(client, login_as, db_session):
    """Uniqueness is over the whole definition, never over the default the site fills in."""
    login_as("manager")
    texts = {"Первый": "Старый моряк с трубкой.", "Второй": "Юная ведьма из Праги, учит зельям."}
    for name, text in texts.items():
        card = {"name": name, "description": text, "first_mes": "Hi"}
        assert upload(client, json.dumps(card).encode(), f"{name}.json").status_code == 302
    again = {"name": "Третий", "description": "Старый  моряк с трубкой.", "first_mes": ""}
    page = upload(client, json.dumps(again).encode(), "again.json")
    assert page.status_code == 422
    assert "такое же уже у «Первый»" in page.get_data(as_text=True)


def test_greeting_macros_are_filled_for_the_person(client, login_as, db_session):
    from webapp.accounts.models import User
    from webapp.chat import service as chat
    from webapp.db import utcnow

    login_as("manager")
    card = {"name": "Кот", "description": "Кот учёный.", "first_mes": "Мур, {{user}}! Я {{char}}."}
    upload(client, json.dumps(card).encode(), "cat.json")
    person = db_session.scalar(select(User).limit(1))
    dialog = chat.start_dialog(db_session, person.id, imported(db_session, "Кот"), utcnow(), "Оля")
    first = db_session.scalar(select(Message).where(Message.dialog_id == dialog.id))
    assert first.text == "Мур, Оля! Я Кот."


def test_a_hybrids_root_mirror_follows_a_change_in_every_format(client, login_as, db_session):
    login_as("manager")
    hybrid = {**V2, "name": V2["data"]["name"], "description": V2["data"]["description"]}
    upload(client, json.dumps(hybrid).encode(), "hybrid.json")
    character = imported(db_session)
    character.definition = "Новое описание."
    db_session.commit()
    for kind in ("json", "v2.json", "v3.json"):
        card = client.get(f"/manage/characters/{character.id}/card.{kind}").json
        assert card["description"] == card["data"]["description"] == "Новое описание.", kind
        assert card["name"] == "Лиса Алиса"
