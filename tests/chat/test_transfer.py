"""A dialog out (text, SillyTavern JSONL) and a SillyTavern chat file in."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from tests.chat.test_chat import run_job, send, start
from tests.conftest import csrf_token
from webapp.chat.models import Dialog, Message, Swipe

# A chat as SillyTavern 1.12 saves it (header line, then a message a line; dates as it writes
# them, system notes, swipes on a reply).
SILLYTAVERN_CHAT = [
    {"user_name": "Иван", "character_name": "Алиса", "create_date": "2026-11-30@21h05m03s",
     "chat_metadata": {"note_prompt": "", "timedWorldInfo": {}}},
    {"name": "Алиса", "is_user": False, "is_system": False, "send_date": "November 30, 2026 9:05pm",
     "mes": "Привет! Я Алиса.", "extra": {}},
    {"name": "Иван", "is_user": True, "is_system": False, "send_date": "November 30, 2026 9:06pm",
     "mes": "Расскажи *что-нибудь*", "extra": {}},
    {"name": "Алиса", "is_user": False, "is_system": False, "send_date": 1796072800000,
     "mes": "Второй вариант", "swipes": ["Первый вариант", "Второй вариант"], "swipe_id": 1,
     "extra": {"api": "koboldcpp"}},
    {"name": "SillyTavern System", "is_user": False, "is_system": True, "mes": "заметка"},
]  # fmt: skip


def upload(client, character, blob: bytes, name="chat.jsonl"):
    token = csrf_token(client, f"/characters/{character.id}")
    return client.post(
        f"/characters/{character.id}/dialogs/import",
        data={"csrf_token": token, "chat": (io.BytesIO(blob), name)},
        content_type="multipart/form-data",
    )


def jsonl(lines) -> bytes:
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()


def texts(db_session, dialog_id):
    return db_session.scalars(
        select(Message.text).where(Message.dialog_id == dialog_id).order_by(Message.id)
    ).all()


def test_a_sillytavern_chat_becomes_a_dialog_with_its_swipes(
    client, login_as, character, db_session
):
    login_as("user")
    response = upload(client, character, jsonl(SILLYTAVERN_CHAT))
    assert response.status_code == 302
    dialog_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert texts(db_session, dialog_id) == [
        "Привет! Я Алиса.",
        "Расскажи *что-нибудь*",
        "Второй вариант",
    ]
    last = db_session.scalar(select(Message).where(Message.text == "Второй вариант"))
    assert (last.swipe, last.swipes) == (1, 2)
    assert db_session.scalars(select(Swipe.text).where(Swipe.message_id == last.id)).all() == [
        "Первый вариант",
        "Второй вариант",
    ]
    assert db_session.get(Dialog, dialog_id).message_count == 3
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Расскажи <em>что-нибудь</em>" in page and "<span>2/2</span>" in page


def test_export_then_import_gives_the_same_messages(
    app, client, login_as, character, bus, db_session
):
    login_as("user", display_name="Иван")
    dialog_id = start(client, character)
    send(client, dialog_id, "Как дела?")
    run_job(app, bus, "Отлично")
    reply = db_session.scalar(select(Message).where(Message.text == "Отлично"))
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/messages/{reply.id}/regenerate", data={"csrf_token": token})
    run_job(app, bus, "Хорошо")
    text = client.get(f"/chat/{dialog_id}/export.txt")
    assert text.headers["Content-Disposition"] == f'attachment; filename="dialog-{dialog_id}.txt"'
    body = text.get_data(as_text=True)
    assert "] Иван: Как дела?" in body and "] Алиса: Хорошо" in body
    exported = client.get(f"/chat/{dialog_id}/export.jsonl").get_data()
    lines = [json.loads(line) for line in exported.decode().splitlines()]
    assert lines[0]["user_name"] == "Иван" and lines[-1]["swipes"] == ["Отлично", "Хорошо"]
    response = upload(client, character, exported)
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert texts(db_session, copy_id) == texts(db_session, dialog_id)
    again = client.get(f"/chat/{copy_id}/export.jsonl").get_data().decode().splitlines()
    assert [json.loads(line)["mes"] for line in again[1:]] == [line["mes"] for line in lines[1:]]
    assert json.loads(again[-1])["swipes"] == ["Отлично", "Хорошо"]


@pytest.mark.parametrize(
    ("blob", "error"),
    [
        (b"just some text\n", "Строка 1: не JSON"),
        (jsonl([SILLYTAVERN_CHAT[0], SILLYTAVERN_CHAT[1], {"name": "x", "is_user": True}]),
         "Строка 3: нет поля «mes»"),
        (jsonl([SILLYTAVERN_CHAT[0], {"mes": "без is_user"}]), "Строка 2: нет поля «is_user»"),
        (jsonl([SILLYTAVERN_CHAT[0], {**SILLYTAVERN_CHAT[3], "swipe_id": 5}]),
         "Строка 2: «swipe_id» вне списка «swipes»"),
        (jsonl([SILLYTAVERN_CHAT[0], [1, 2]]), "Строка 2: ожидается объект"),
        (jsonl([SILLYTAVERN_CHAT[0]]), "в нём нет ни одного сообщения"),
        ("\u00ff".encode("latin-1"), "не текст в UTF-8"),
    ],
)  # fmt: skip
def test_a_bad_file_names_its_line_and_nothing_is_stored(
    client, login_as, character, db_session, blob, error
):
    login_as("user")
    response = upload(client, character, blob)
    assert response.status_code == 422 and error in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Dialog)) == 0


def test_a_huge_file_is_refused_before_it_is_read(client, login_as, character, db_session):
    login_as("user")
    response = upload(client, character, b"x" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert "Размер запроса больше 10 МБ" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Dialog)) == 0


def test_someone_elses_dialog_cannot_be_exported(client, login_as, character, db_session):
    login_as("user")
    dialog_id = start(client, character)
    login_as("user")
    assert client.get(f"/chat/{dialog_id}/export.jsonl").status_code == 404
    assert client.get(f"/chat/{dialog_id}/export.txt").status_code == 404
