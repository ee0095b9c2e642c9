"""Reports from the chat, moderation tables, hiding characters and blocking with a reason."""

from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token
from webapp.characters.models import CharacterState
from webapp.chat.models import Dialog, Message, Role, Status
from webapp.db import utcnow
from webapp.moderation.models import MessageReport, ReportState
from webapp.monitoring.models import LogCategory, LogEntry


def ai_message(db_session, user, character, text="Ответ персонажа") -> Message:
    dialog = Dialog(user_id=user.id, character_id=character.id, created_at=utcnow())
    db_session.add(dialog)
    db_session.flush()
    message = Message(dialog_id=dialog.id, role=Role.ASSISTANT, text=text, status=Status.DONE)
    db_session.add(message)
    db_session.commit()
    return message


def test_a_person_reports_a_message_of_their_own_dialog(client, login_as, db_session):
    anna = login_as("user")
    message = ai_message(db_session, anna, factories.character(db_session))
    token = csrf_token(client, f"/moderation/report/{message.id}")
    empty = client.post(
        f"/moderation/report/{message.id}", data={"csrf_token": token, "reason": " "}
    )
    assert empty.status_code == 422 and "Укажите причину" in empty.get_data(as_text=True)
    sent = client.post(
        f"/moderation/report/{message.id}", data={"csrf_token": token, "reason": "Грубость"}
    )
    assert sent.status_code == 302 and f"#m-{message.id}" in sent.headers["Location"]
    [report] = db_session.scalars(select(MessageReport)).all()
    assert (report.reporter_id, report.reason, report.state) == (anna.id, "Грубость", "open")


def test_nobody_reports_or_sees_a_message_of_someone_elses_dialog(
    client, login_as, make_user, db_session
):
    other = make_user()
    message = ai_message(db_session, other, factories.character(db_session))
    login_as("user")
    assert client.get(f"/moderation/report/{message.id}").status_code == 404
    token = csrf_token(client, "/")
    response = client.post(
        f"/moderation/report/{message.id}", data={"csrf_token": token, "reason": "Грубость"}
    )
    assert response.status_code == 404
    assert db_session.scalars(select(MessageReport)).all() == []


def test_moderator_hides_a_character_only_with_a_reason(client, login_as, db_session):
    moderator = login_as("moderator")
    character = factories.character(db_session, name="Спорный")
    token = csrf_token(client, "/moderation/characters")
    url = f"/moderation/characters/{character.id}/hide"
    client.post(url, data={"csrf_token": token, "hidden": "1", "reason": ""})
    assert db_session.get(type(character), character.id).state == CharacterState.PUBLISHED
    client.post(url, data={"csrf_token": token, "hidden": "1", "reason": "Нарушает правила"})
    assert db_session.get(type(character), character.id).state == CharacterState.HIDDEN
    entry = db_session.scalars(select(LogEntry).where(LogEntry.category == LogCategory.AUDIT)).one()
    assert entry.user_id == moderator.id and entry.event == "character_hidden"
    assert '"before": {"state": "published"}' in entry.detail and "Нарушает правила" in entry.detail


def test_moderator_blocks_a_user_with_a_reason(client, login_as, make_user, db_session):
    login_as("moderator")
    target = make_user()
    token = csrf_token(client, "/moderation/users")
    url = f"/moderation/users/{target.id}/block"
    client.post(url, data={"csrf_token": token, "blocked": "1", "reason": "x"})
    assert not db_session.get(type(target), target.id).is_blocked
    client.post(url, data={"csrf_token": token, "blocked": "1", "reason": "Спам в чате"})
    assert db_session.get(type(target), target.id).is_blocked


def test_report_table_is_sorted_filtered_and_handled(client, login_as, make_user, db_session):
    person = make_user()
    character = factories.character(db_session, name="Альфа")
    for text in ("Первое", "Второе"):
        message = ai_message(db_session, person, character, text)
        factories.report(db_session, message, person.id)
    db_session.commit()
    login_as("moderator")
    html = client.get("/moderation/reports?sort=created&dir=asc").get_data(as_text=True)
    assert html.index("Первое") < html.index("Второе")
    html = client.get("/moderation/reports?sort=created&dir=desc").get_data(as_text=True)
    assert html.index("Второе") < html.index("Первое")
    report = db_session.scalars(select(MessageReport)).first()
    token = csrf_token(client, "/moderation/reports")
    client.post(
        f"/moderation/reports/{report.id}",
        data={"csrf_token": token, "state": "dismissed", "note": "норм"},
    )
    assert db_session.get(MessageReport, report.id).state == ReportState.DISMISSED
    open_only = client.get("/moderation/reports").get_data(as_text=True)
    assert open_only.count("Плохо") == 1
    characters = client.get("/moderation/characters?sort=reports").get_data(as_text=True)
    assert "Альфа" in characters
    users = client.get("/moderation/users?sort=messages&q=").get_data(as_text=True)
    assert person.display_name in users
