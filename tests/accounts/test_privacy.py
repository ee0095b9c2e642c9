import json
from datetime import timedelta

from sqlalchemy import MetaData, select

from tests import factories
from tests.conftest import csrf_token
from webapp.accounts.models import User
from webapp.db import utcnow
from webapp.monitoring import logs
from webapp.monitoring.models import LogCategory, LogEntry
from webapp.monitoring.tasks import purge_logs


def test_privacy_policy_is_public_and_russian(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "Политика конфиденциальности" in page and "152-ФЗ" in page


def test_person_downloads_their_data_as_json(client, login_as):
    login_as("user", email="mine@example.ru", display_name="Моё Имя")
    response = client.get("/profile/export")
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "mine@example.ru"
    assert data["account"]["display_name"] == "Моё Имя"
    assert data["devices"] and any(e["event"] == "login" for e in data["events"])


def test_deletion_needs_the_typed_email(client, login_as, db_session):
    user = login_as("user", email="keep@example.ru")
    token = csrf_token(client, "/profile/delete")
    response = client.post(
        "/profile/delete", data={"email": "other@example.ru", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "введите адрес вашего аккаунта" in response.get_data(as_text=True)
    assert db_session.get(User, user.id) is not None


def dump_database(connection) -> str:
    """Every value in every table, as text: what a leaked backup would show."""
    metadata = MetaData()
    metadata.reflect(connection)
    values = []
    for table in metadata.sorted_tables:
        for row in connection.execute(table.select()):
            values.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
    return "\n".join(values)


def test_deleted_account_leaves_no_trace_of_the_email(client, login_as, db_session, pii, mailbox):
    user = login_as("user", email="gone@example.ru", display_name="Уходящий")
    user_id, email_hash = user.id, user.email_hash
    token = csrf_token(client, "/profile/delete")
    response = client.post(
        "/profile/delete", data={"email": "Gone@Example.ru", "csrf_token": token}
    )
    assert response.headers["Location"] == "/"
    assert client.get("/profile").status_code == 302

    assert db_session.get(User, user_id) is None
    dump = dump_database(db_session.connection())
    assert "gone@example.ru" not in dump.lower()
    assert email_hash not in dump and "Уходящий" not in dump
    login_events = db_session.scalars(select(LogEntry).where(LogEntry.event == "login")).all()
    assert login_events and all(e.user_id is None and e.ip is None for e in login_events)
    assert "удалён" in mailbox.last_text("gone@example.ru")


def test_logs_are_purged_after_their_retention(worker_app, db_session):
    now = utcnow()
    for category, days in ((LogCategory.SECURITY, 91), (LogCategory.BUSINESS, 31)):
        logs.record(db_session, category, "old").created_at = now - timedelta(days=days)
        logs.record(db_session, category, "recent").created_at = now - timedelta(days=days - 2)
    logs.record(db_session, LogCategory.SYSTEM, "old").created_at = now - timedelta(days=8)
    db_session.commit()
    removed = purge_logs.call_local()
    assert removed == {"security": 1, "business": 1, "system": 1, "audit": 0, "metric_points": 0}
    assert [e.event for e in db_session.scalars(select(LogEntry))] == ["recent", "recent"]


def test_the_export_holds_the_persons_dialogs_messages_favorites_and_reports(
    client, login_as, db_session
):
    from webapp.characters.editor import Draft, save
    from webapp.chat import service as chat
    from webapp.chat.models import Favorite, Message, Role, Status

    person = login_as("user", email="talk@example.ru")
    character, _ = save(
        db_session,
        Draft(name="Собеседник", system_prompt="Ты собеседник.", greeting="Привет, {{user}}!"),
        author_id=None,
        now=utcnow(),
    )
    dialog = chat.start_dialog(db_session, person.id, character, utcnow(), "Оля")
    mine = chat.add_message(db_session, dialog, Role.USER, "Как дела?", Status.READ, utcnow())
    reply = chat.add_message(db_session, dialog, Role.ASSISTANT, "Отлично.", Status.DONE, utcnow())
    db_session.add(Favorite(user_id=person.id, message_id=reply.id))
    factories.report(db_session, reply, person.id, "Странно")
    db_session.commit()
    data = json.loads(client.get("/profile/export").get_data(as_text=True))
    (exported,) = data["dialogs"]
    assert exported["character"] == "Собеседник"
    texts = [(m["from"], m["text"], m["ai_generated"]) for m in exported["messages"]]
    assert texts == [
        ("character", "Привет, Оля!", True),
        ("me", "Как дела?", False),
        ("character", "Отлично.", True),
    ]
    assert [m["favorite"] for m in exported["messages"]] == [False, False, True]
    assert data["reports"][0]["reason"] == "Странно"
    page = client.get("/profile/export?format=html").get_data(as_text=True)
    assert "Как дела?" in page and "Отлично." in page and "написаны ИИ" in page
    assert db_session.scalar(select(Message).where(Message.id == mine.id)) is not None


def test_the_first_sign_in_tour_shows_until_closed_on_any_device(client, login_as, db_session):
    from tests.conftest import csrf_token as token_of

    person = login_as("user")
    assert "Как здесь всё устроено" in client.get("/").get_data(as_text=True)
    response = client.post("/tour/done", data={"csrf_token": token_of(client, "/")})
    assert response.status_code == 302
    assert "Как здесь всё устроено" not in client.get("/").get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(User, person.id).tour_done_at is not None


def test_the_first_character_guide_opens_for_a_managers_first_character(client, login_as):
    login_as("manager")
    page = client.get("/manage/characters/new").get_data(as_text=True)
    assert "Первый персонаж: шаг за шагом" in page and 'class="card guide" open' in page
