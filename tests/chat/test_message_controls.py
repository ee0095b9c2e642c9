"""A message's controls through the plain forms (no JavaScript) and as the chat script posts them
(an htmx request): swipes, continue, edit, delete, branch, and what moderators keep."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.chat.test_chat import run_job, send, start
from tests.conftest import csrf_token
from tests.queued import take_job, waiting_jobs
from webapp.chat.models import Dialog, Message, Role, Status, Swipe
from webapp.extensions import db
from webapp.moderation.models import MessageReport

HTMX = {"HX-Request": "true"}


def post(client, dialog_id, url, **data):
    token = csrf_token(client, f"/chat/{dialog_id}")
    return client.post(url, data={"csrf_token": token, **data})


def last_reply(db_session, dialog_id) -> Message:
    db_session.expire_all()
    return db_session.scalar(
        select(Message)
        .where(Message.dialog_id == dialog_id, Message.role == Role.ASSISTANT)
        .order_by(Message.id.desc())
        .limit(1)
    )


def answered(app, client, bus, character, text="Первый ответ") -> int:
    dialog_id = start(client, character)
    send(client, dialog_id, "Как дела?")
    run_job(app, bus, text)
    return dialog_id


def test_three_versions_and_back_the_shown_one_is_what_the_model_sees(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    url = f"/chat/messages/{reply.id}"
    for text in ("Второй ответ", "Третий ответ"):
        assert post(client, dialog_id, f"{url}/regenerate").status_code == 302
        item = run_job(app, bus, text)
        assert item["meta"]["message_id"] == reply.id  # the same message, written again
        assert item["messages"][-1] == {"role": "user", "content": "Как дела?"}  # not itself
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Третий ответ" in page and "<span>3/3</span>" in page
    assert post(client, dialog_id, f"{url}/swipe", to="0").status_code == 302
    assert post(client, dialog_id, f"{url}/swipe", to="1").status_code == 302
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)  # survives a reload
    assert "Второй ответ" in page and "Третий ответ" not in page and "<span>2/3</span>" in page
    rows = db_session.scalars(select(Swipe.text).where(Swipe.message_id == reply.id)).all()
    assert sorted(rows) == ["Второй ответ", "Первый ответ", "Третий ответ"]
    send(client, dialog_id, "А дальше?")
    item = take_job(db.session)
    assert {"role": "assistant", "content": "Второй ответ"} in item["messages"]
    assert {"role": "assistant", "content": "Третий ответ"} not in item["messages"]


def test_a_swipe_out_of_range_is_refused_clearly(app, client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    for to in ("5", "-1", "abc"):
        response = client.post(
            f"/chat/messages/{reply.id}/swipe",
            data={"csrf_token": csrf_token(client, f"/chat/{dialog_id}"), "to": to},
            headers=HTMX,
        )
        assert response.status_code == 422
        assert "Такого варианта ответа нет" in response.get_data(as_text=True)
    assert last_reply(db_session, dialog_id).text == "Первый ответ"


def test_only_the_last_reply_is_written_again(app, client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    first = last_reply(db_session, dialog_id)
    send(client, dialog_id, "Ещё вопрос")
    run_job(app, bus, "Ещё ответ")
    response = client.post(
        f"/chat/messages/{first.id}/regenerate",
        data={"csrf_token": csrf_token(client, f"/chat/{dialog_id}")},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "только с последним ответом" in response.get_data(as_text=True)
    assert waiting_jobs(db_session) == []


def test_continue_adds_to_the_reply_with_the_nudge(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character, "Жила-была кошка, и однажды")
    reply = last_reply(db_session, dialog_id)
    assert post(client, dialog_id, f"/chat/messages/{reply.id}/continue").status_code == 302
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Жила-была кошка, и однажды" in page  # the text so far stays shown while it streams
    item = run_job(app, bus, "она ушла гулять.")
    assert item["messages"][-2] == {"role": "assistant", "content": "Жила-была кошка, и однажды"}
    assert (
        item["messages"][-1]["role"] == "system" and "Продолжи" in item["messages"][-1]["content"]
    )
    reply = last_reply(db_session, dialog_id)
    assert reply.text == "Жила-была кошка, и однажды она ушла гулять."
    assert (reply.status, reply.continued, reply.swipes) == (Status.DONE, False, 1)


def test_editing_my_message_writes_its_answer_again_keeping_the_old_one(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    mine = db_session.scalar(select(Message).where(Message.role == Role.USER))
    form = client.get(f"/chat/messages/{mine.id}/edit").get_data(as_text=True)
    assert "Как дела?</textarea>" in form
    response = post(client, dialog_id, f"/chat/messages/{mine.id}/edit", text="Как погода?")
    assert response.status_code == 302
    item = run_job(app, bus, "Солнечно")
    assert item["messages"][-1] == {"role": "user", "content": "Как погода?"}
    reply = last_reply(db_session, dialog_id)
    assert (reply.text, reply.swipe, reply.swipes) == ("Солнечно", 1, 2)
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Как погода?" in page and "изменено" in page


def test_editing_a_reply_corrects_it_in_place(app, client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    post(client, dialog_id, f"/chat/messages/{reply.id}/edit", text="Исправленный *ответ*")
    assert waiting_jobs(db_session) == []  # nothing is asked of the model
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Исправленный <em>ответ</em>" in page  # markdown, rendered on the server


@pytest.mark.parametrize("text", ["", "   ", "д" * 2001])
def test_edits_over_the_limits_are_refused_and_nothing_changes(
    app, client, login_as, character, bus, db_session, text
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    response = post(client, dialog_id, f"/chat/messages/{reply.id}/edit", text=text)
    assert response.status_code == 422
    assert "Текст сообщения: от 1 до 2000 символов" in response.get_data(as_text=True)
    assert last_reply(db_session, dialog_id).text == "Первый ответ"
    mine = db_session.scalar(select(Message).where(Message.role == Role.USER))
    response = post(client, dialog_id, f"/chat/messages/{mine.id}/edit", text="д" * 1001)
    assert "от 1 до 1000 символов" in response.get_data(as_text=True)


def test_delete_asks_first_then_removes_one_or_everything_after(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    send(client, dialog_id, "Второй вопрос")
    run_job(app, bus, "Второй ответ")
    first_reply = db_session.scalar(select(Message).where(Message.text == "Первый ответ"))
    confirm = client.get(f"/chat/messages/{first_reply.id}/delete").get_data(as_text=True)
    assert "Удалить сообщение?" in confirm and "Удалить его и всё после (2)" in confirm
    assert db_session.get(Dialog, dialog_id).message_count == 5  # nothing deleted by looking
    post(client, dialog_id, f"/chat/messages/{first_reply.id}/delete", following="1")
    db_session.expire_all()
    texts = db_session.scalars(select(Message.text).where(Message.dialog_id == dialog_id)).all()
    assert texts == ["Привет! Я Алиса.", "Как дела?"]
    assert db_session.get(Dialog, dialog_id).message_count == 2
    greeting = db_session.scalar(select(Message).where(Message.text == "Привет! Я Алиса."))
    post(client, dialog_id, f"/chat/messages/{greeting.id}/delete", following="0")
    db_session.expire_all()
    texts = db_session.scalars(select(Message.text).where(Message.dialog_id == dialog_id)).all()
    assert texts == ["Как дела?"]


def test_deleting_a_reported_message_or_dialog_keeps_the_report(
    app, client, login_as, character, bus, db_session
):
    person = login_as("user")
    dialog_id = answered(app, client, bus, character, "Сомнительный ответ")
    reply = last_reply(db_session, dialog_id)
    token = csrf_token(client, f"/moderation/report/{reply.id}")
    client.post(f"/moderation/report/{reply.id}", data={"csrf_token": token, "reason": "Грубость"})
    post(client, dialog_id, f"/chat/messages/{reply.id}/edit", text="Вежливый ответ")
    confirm = client.get(f"/chat/{dialog_id}/delete").get_data(as_text=True)
    assert "Удалить диалог" in confirm and db_session.get(Dialog, dialog_id) is not None
    token = csrf_token(client, f"/chat/{dialog_id}/delete")
    client.post(f"/chat/{dialog_id}/delete", data={"csrf_token": token})
    db_session.expire_all()
    assert db_session.get(Dialog, dialog_id) is None
    report = db_session.scalar(select(MessageReport).where(MessageReport.reporter_id == person.id))
    assert (report.text, report.message_id, report.character_id) == (
        "Сомнительный ответ",  # as it was when reported, not as edited
        None,
        character.id,
    )
    login_as("moderator")
    table = client.get("/moderation/reports").get_data(as_text=True)
    assert "Сомнительный ответ" in table and "сообщение удалено автором" in table
    assert "Алиса" in table


def test_a_branch_shares_the_history_up_to_the_message(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    send(client, dialog_id, "Второй вопрос")
    run_job(app, bus, "Второй ответ")
    first_reply = db_session.scalar(select(Message).where(Message.text == "Первый ответ"))
    response = post(client, dialog_id, f"/chat/messages/{first_reply.id}/branch")
    branch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert branch_id != dialog_id
    texts = db_session.scalars(
        select(Message.text).where(Message.dialog_id == branch_id).order_by(Message.id)
    ).all()
    assert texts == ["Привет! Я Алиса.", "Как дела?", "Первый ответ"]
    assert db_session.get(Dialog, branch_id).message_count == 3
    assert db_session.scalar(select(func.count()).where(Message.dialog_id == dialog_id)) == 5


def test_someone_elses_message_does_not_exist(app, client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    login_as("user")  # another person
    token = csrf_token(client, "/favorites")
    for action in ("regenerate", "continue", "swipe", "edit", "delete", "branch"):
        url = f"/chat/messages/{reply.id}/{action}"
        assert client.post(url, data={"csrf_token": token, "text": "x"}).status_code == 404
    assert client.get(f"/chat/messages/{reply.id}/edit").status_code == 404
    assert client.get(f"/chat/{dialog_id}/delete").status_code == 404


def test_the_script_gets_no_content_and_the_socket_shows_the_change(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    heard = bus.subscribe(f"chat:dialog:{dialog_id}")
    response = client.post(
        f"/chat/messages/{reply.id}/regenerate",
        data={"csrf_token": csrf_token(client, f"/chat/{dialog_id}")},
        headers=HTMX,
    )
    assert response.status_code == 204
    event = heard.get(timeout=2)
    assert event[1]["type"] == "message" and event[1]["message_id"] == reply.id
    heard.close()


def test_the_failed_reply_without_text_is_written_over_not_kept(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "ну?")
    run_job(app, bus, "", fail=True)
    reply = last_reply(db_session, dialog_id)
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/{dialog_id}/retry", data={"csrf_token": token})  # the socket's retry too
    run_job(app, bus, "Наконец-то")
    reply = last_reply(db_session, dialog_id)
    assert (reply.text, reply.swipes, reply.status) == ("Наконец-то", 1, Status.DONE)
    assert db_session.scalar(select(func.count()).where(Message.dialog_id == dialog_id)) == 3


def test_a_cards_other_greetings_are_versions_of_the_first_message(client, login_as, db_session):
    login_as("user", display_name="Иван")
    character = factories.character(
        db_session,
        name="Лиса",
        greeting="Здравствуй, {{user}}!",
        alternate_greetings=["Ах, {{user}}, какой гость!", "Кто там?"],
    )
    token = csrf_token(client, f"/characters/{character.id}")
    response = client.post(
        f"/characters/{character.id}/dialogs", data={"csrf_token": token, "opening": "1"}
    )
    dialog_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Ах, Иван, какой гость!" in page and "<span>2/3</span>" in page
    first = db_session.scalar(select(Message).where(Message.dialog_id == dialog_id))
    post(client, dialog_id, f"/chat/messages/{first.id}/swipe", to="0")
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Здравствуй, Иван!" in page and "<span>1/3</span>" in page


def test_the_data_export_holds_every_version_and_edit(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    post(client, dialog_id, f"/chat/messages/{reply.id}/regenerate")
    run_job(app, bus, "Второй ответ")
    data = client.get("/profile/export").get_json()
    (exported,) = data["dialogs"]
    last = exported["messages"][-1]
    assert last["text"] == "Второй ответ" and last["versions"] == ["Первый ответ", "Второй ответ"]
    page = client.get("/profile/export?format=html").get_data(as_text=True)
    assert "Варианты ответа: 2" in page


def test_a_cards_blurb_reads_with_the_names_filled(client, login_as, db_session):
    login_as("user", display_name="Иван")
    character = factories.character(
        db_session, name="Лиса", description="{{char}} ждёт {{user}} у норы."
    )
    page = client.get(f"/characters/{character.id}").get_data(as_text=True)
    assert "Лиса ждёт Иван у норы." in page
    assert "Лиса ждёт Иван у норы." in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/personas")
    client.post("/personas", data={"csrf_token": token, "name": "Лира", "default": "1"})
    assert "Лиса ждёт Лира у норы." in client.get("/").get_data(as_text=True)  # as greetings


def test_a_new_version_stopped_before_a_word_gives_the_old_one_back(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = answered(app, client, bus, character)
    reply = last_reply(db_session, dialog_id)
    post(client, dialog_id, f"/chat/messages/{reply.id}/regenerate")  # waits in the queue
    assert post(client, dialog_id, f"/chat/{dialog_id}/stop").status_code == 302
    reply = last_reply(db_session, dialog_id)
    assert (reply.text, reply.status, reply.swipes) == ("Первый ответ", Status.DONE, 1)
    assert db_session.scalar(select(func.count()).select_from(Swipe)) == 0
    send(client, dialog_id, "А дальше?")
    item = take_job(db.session)
    assert {"role": "assistant", "content": "Первый ответ"} in item["messages"]
