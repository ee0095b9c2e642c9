"""Personas: who the person is in a dialog, as the greeting and the model's prompt see it."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests import factories
from tests.chat.test_chat import run_job, send
from tests.conftest import csrf_token
from tests.queued import take_job
from webapp.chat.models import Dialog, Message, Persona
from webapp.extensions import db


@pytest.fixture
def character(db_session):
    return factories.character(
        db_session,
        name="Алиса",
        greeting="Привет, {{user}}! Я {{char}}.",
        system_prompt="Ты {{char}}.",
    )


def add_persona(client, name, description="", default=True):
    token = csrf_token(client, "/personas")
    data = {"csrf_token": token, "name": name, "description": description}
    if default:
        data["default"] = "1"
    return client.post("/personas", data=data)


def new_dialog(client, character) -> int:
    token = csrf_token(client, f"/characters/{character.id}")
    response = client.post(f"/characters/{character.id}/dialogs", data={"csrf_token": token})
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_default_persona_is_who_the_greeting_and_the_model_meet(
    app, client, login_as, character, bus, db_session
):
    login_as("user", display_name="Иван")
    assert add_persona(client, "Лира", "Эльфийка-бард, любит загадки.").status_code == 302
    dialog_id = new_dialog(client, character)
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Привет, Лира! Я Алиса." in page
    send(client, dialog_id, "Загадай загадку")
    item = run_job(app, bus)
    system = item["messages"][0]["content"]
    assert "О Лира: Эльфийка-бард, любит загадки." in system and "Иван" not in system


def test_a_dialog_changes_its_persona_and_the_next_reply_uses_it(
    app, client, login_as, character, bus, db_session
):
    login_as("user", display_name="Иван")
    add_persona(client, "Лира")
    add_persona(client, "Торин", "Гном-кузнец.", default=False)
    dialog_id = new_dialog(client, character)
    torin = db_session.scalar(select(Persona).where(Persona.name == "Торин"))
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Вы в этом диалоге" in page and f'<option value="{torin.id}">Торин' in page
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/{dialog_id}/persona", data={"csrf_token": token, "persona_id": torin.id})
    send(client, dialog_id, "Кто я?")
    item = take_job(db.session)
    assert "О Торин: Гном-кузнец." in item["messages"][0]["content"]


@pytest.mark.parametrize(
    ("name", "description", "error"),
    [
        ("", "", "Имя персоны: от 1 до 50 символов"),
        ("я" * 51, "", "Имя персоны: от 1 до 50 символов"),
        ("Лира", "о" * 1001, "Описание: не длиннее 1000 символов"),
    ],
)
def test_bad_persona_fields_are_named_and_nothing_is_stored(
    client, login_as, db_session, name, description, error
):
    login_as("user")
    response = add_persona(client, name, description)
    assert response.status_code == 422 and error in response.get_data(as_text=True)
    assert db_session.scalar(select(Persona)) is None


def test_a_deleted_persona_leaves_its_dialogs_with_the_name(
    app, client, login_as, character, bus, db_session
):
    login_as("user", display_name="Иван")
    add_persona(client, "Лира")
    dialog_id = new_dialog(client, character)
    lira = db_session.scalar(select(Persona))
    token = csrf_token(client, "/personas")
    client.post(f"/personas/{lira.id}/delete", data={"csrf_token": token})
    db_session.expire_all()
    assert db_session.get(Dialog, dialog_id).persona_id is None
    send(client, dialog_id, "Кто я?")
    item = take_job(db.session)
    assert "О Лира" not in item["messages"][0]["content"]


def test_someone_elses_persona_cannot_be_seen_changed_or_used(
    app, client, login_as, character, db_session
):
    login_as("user")
    add_persona(client, "Чужая")
    theirs = db_session.scalar(select(Persona))
    login_as("user")
    dialog_id = new_dialog(client, character)
    assert client.get(f"/personas/{theirs.id}").status_code == 404
    token = csrf_token(client, "/personas")
    assert (
        client.post(f"/personas/{theirs.id}", data={"csrf_token": token, "name": "x"}).status_code
        == 404
    )
    assert (
        client.post(f"/personas/{theirs.id}/delete", data={"csrf_token": token}).status_code == 404
    )
    client.post(f"/chat/{dialog_id}/persona", data={"csrf_token": token, "persona_id": theirs.id})
    db_session.expire_all()
    assert db_session.get(Dialog, dialog_id).persona_id is None
    assert db_session.get(Persona, theirs.id).name == "Чужая"
    first = db_session.scalar(select(Message).where(Message.dialog_id == dialog_id))
    assert "Чужая" not in first.text


def test_personas_are_in_the_data_export(client, login_as, db_session):
    login_as("user")
    add_persona(client, "Лира", "Бард.")
    data = client.get("/profile/export").get_json()
    assert data["personas"] == [{"name": "Лира", "description": "Бард.", "default": True}]


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_a_persona_picture_is_shown_refused_when_bad_and_gone_with_the_account(
    app, client, login_as, db_session, settings
):
    login_as("user", email="lira@example.ru")
    token = csrf_token(client, "/personas")
    bad = client.post(
        "/personas",
        data={
            "csrf_token": token,
            "name": "Лира",
            "avatar": (io.BytesIO(b"not an image"), "x.png"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "Аватар: файл не читается" in bad.get_data(as_text=True)
    assert db_session.scalar(select(Persona)) is None
    client.post(
        "/personas",
        data={"csrf_token": token, "name": "Лира", "avatar": (io.BytesIO(_png()), "lira.png")},
        content_type="multipart/form-data",
    )
    persona = db_session.scalar(select(Persona))
    assert persona.avatar and persona.avatar.startswith(f"p{persona.id}-")
    page = client.get("/personas").get_data(as_text=True)
    assert f"/avatars/{persona.avatar}-64.webp" in page
    assert client.get(f"/avatars/{persona.avatar}-64.webp").status_code == 200
    files = list((settings.instance_path / "avatars").glob(f"{persona.avatar}-*.webp"))
    assert len(files) == 2
    token = csrf_token(client, "/profile/delete")
    client.post("/profile/delete", data={"email": "lira@example.ru", "csrf_token": token})
    assert not any(path.exists() for path in files)
