"""Chat pages and actions through the test client; jobs are finished by calling the chat's job
handler the way the dispatcher does (the node link itself is tested elsewhere)."""

import json
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from pc_node import protocol
from tests import factories
from tests.conftest import csrf_token
from tests.fakes import FakeSocket
from tests.queued import as_job, take_job, waiting_jobs
from webapp.chat.models import Dialog, Favorite, Message, Status
from webapp.db import utcnow
from webapp.extensions import db


def start(client, character) -> int:
    token = csrf_token(client, f"/characters/{character.id}")
    response = client.post(f"/characters/{character.id}/dialogs", data={"csrf_token": token})
    return int(response.headers["Location"].rsplit("/", 1)[1])


def send(client, dialog_id, text, client_id=""):
    token = csrf_token(client, f"/chat/{dialog_id}")
    return client.post(
        f"/chat/{dialog_id}/messages",
        data={"message": text, "client_id": client_id, "csrf_token": token},
    )


def run_job(app, bus, text="Рада знакомству!", *, fail=False):
    """Play the dispatcher: take the submitted job, start it, finish (or fail) it."""
    session = db.session
    item = take_job(session)
    assert item is not None, "no job was submitted"
    job = as_job(item)
    handler = app.extensions["mehhost.job_handlers"]["chat_reply"]
    handler.on_started(session, job)
    if fail:
        handler.on_ended(session, job, text, cancelled=False)
    else:
        done = protocol.Done(job_id=job.job_id, tokens=3, prompt_ms=1, generation_ms=1)
        handler.on_done(session, job, text, done)
    session.commit()
    return item


def test_new_dialog_starts_with_the_greeting(client, login_as, character, db_session):
    login_as("user")
    dialog_id = start(client, character)
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Привет! Я Алиса." in page and 'ws-connect="/ws/chat/' in page
    assert db_session.get(Dialog, dialog_id).message_count == 1


def test_plain_form_send_gets_a_reply_without_javascript(
    app, client, login_as, character, bus, db_session
):
    login_as("user", display_name="Иван")
    dialog_id = start(client, character)
    assert send(client, dialog_id, "Привет, как дела?").status_code == 302
    waiting = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "печатает…" in waiting
    item = run_job(app, bus)
    assert item["messages"][0]["role"] == "system"
    assert item["messages"][-1] == {"role": "user", "content": "Привет, как дела?"}
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Рада знакомству!" in page and 'http-equiv="refresh"' not in page
    statuses = [m.status for m in db_session.scalars(select(Message).order_by(Message.id))]
    assert statuses == [Status.DONE, Status.READ, Status.DONE]
    assert db_session.get(Dialog, dialog_id).title == "Привет, как дела?"


def test_long_message_is_cut_to_1000_and_the_person_is_told(
    client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = start(client, character)
    pasted = "н" * 900 + "середина" * 10 + "к" * 99 + "?"
    send(client, dialog_id, pasted)
    notice = "отправлены первые 900 и последние 100"
    assert notice in client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    stored = db_session.scalar(select(Message).where(Message.role == "user"))
    assert stored.text == "н" * 900 + "к" * 99 + "?"  # the question at the end survives


def test_the_composer_takes_a_long_paste_and_says_what_will_be_cut(
    client, login_as, character, bus
):
    login_as("user")
    page = client.get(f"/chat/{start(client, character)}").get_data(as_text=True)
    assert 'maxlength="3000"' in page and "уберём из середины" in page


def test_after_a_reload_only_the_starred_message_shows_a_filled_star(
    client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "привет")
    greeting, mine = db_session.scalars(
        select(Message).where(Message.dialog_id == dialog_id).order_by(Message.id)
    ).all()[:2]
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/messages/{greeting.id}/favorite", data={"on": "1", "csrf_token": token})
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)

    def star_of(message_id: int) -> str:
        article = page.split(f'id="m-{message_id}"', 1)[1].split("</article>", 1)[0]
        return "★" if "★" in article else "☆"

    assert (star_of(greeting.id), star_of(mine.id)) == ("★", "☆")


def test_empty_message_is_ignored_with_a_hint(client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "   ")
    assert "Сообщение пустое" in client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert take_job(db_session) is None


def test_the_same_client_id_is_stored_once(client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "раз", client_id="c1")
    send(client, dialog_id, "раз", client_id="c1")
    count = db_session.scalar(select(func.count()).where(Message.role == "user"))
    assert count == 1


def test_long_ai_reply_is_cut_with_a_mark(app, client, login_as, character, bus, db_session):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "расскажи длинно")
    run_job(app, bus, "д" * 2001)
    reply = db_session.scalars(select(Message).order_by(Message.id.desc())).first()
    assert len(reply.text) == 2000 and reply.text.endswith(" [...]")
    assert dialog_id


def test_failed_reply_keeps_the_partial_text_and_offers_retry(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "ну?")
    run_job(app, bus, "Начало отв", fail=True)
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "Начало отв" in page and "не удалось получить ответ" in page
    failed = db_session.scalar(select(Message).where(Message.status == Status.ERROR))
    retry = f"/chat/messages/{failed.id}/regenerate"
    assert f'formaction="{retry}">Повторить' in page  # the button
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(retry, data={"csrf_token": token})
    item = take_job(db_session)
    assert item is not None and item["meta"]["message_id"] == failed.id  # written again in place
    db_session.expire_all()
    failed = db_session.get(Message, failed.id)
    assert (failed.swipe, failed.swipes, failed.text) == (1, 2, "")  # the partial text kept


def test_writing_again_before_the_reply_started_resubmits_one_reply(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "первое")
    send(client, dialog_id, "второе")
    [second] = waiting_jobs(db_session)  # the first one left the queue with its placeholder
    assert second["messages"][-2:] == [
        {"role": "user", "content": "первое"},
        {"role": "user", "content": "второе"},
    ]
    replies = db_session.scalars(
        select(Message).where(Message.role == "assistant", Message.status == "pending")
    ).all()
    assert [r.id for r in replies] == [second["meta"]["message_id"]]


def test_stop_takes_a_waiting_reply_out_of_the_queue(client, login_as, character, db_session):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "стоп-тест")
    [item] = waiting_jobs(db_session)
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/{dialog_id}/stop", data={"csrf_token": token})
    assert waiting_jobs(db_session) == []
    reply = db_session.get(Message, item["meta"]["message_id"])
    db_session.refresh(reply)
    assert reply.status == Status.CANCELLED


def test_history_pages_by_keyset_with_constant_queries(
    client, login_as, character, db_session, count_queries
):
    user = login_as("user")
    dialog = factories.dialog(db_session, user.id, character.id, 120, "сообщение {n}")
    with count_queries() as first_page:
        page = client.get(f"/chat/{dialog.id}").get_data(as_text=True)
    assert "сообщение 119" in page and "сообщение 69" not in page and "сообщение 70" in page
    assert page.count('class="msg ') == 50
    earlier = page.split('id="earlier" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with count_queries() as second_page:
        older = client.get(earlier, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "сообщение 69" in older and "сообщение 70" not in older and "<html" not in older
    assert first_page.count <= 6 and second_page.count <= 4, first_page.statements


def test_nobody_sees_or_touches_another_persons_dialog(
    client, login_as, character, make_user, db_session
):
    other = make_user()
    dialog = Dialog(user_id=other.id, character_id=character.id)
    db_session.add(dialog)
    db_session.flush()
    message = Message(dialog_id=dialog.id, role="user", text="секрет", status="delivered")
    db_session.add(message)
    db_session.commit()
    login_as("admin")
    token = csrf_token(client, "/")
    assert client.get(f"/chat/{dialog.id}").status_code == 404
    for path in ("messages", "stop", "retry", "rename", "delete"):
        response = client.post(
            f"/chat/{dialog.id}/{path}", data={"csrf_token": token, "message": "x", "title": "x"}
        )
        assert response.status_code == 404, path
    favorite = client.post(
        f"/chat/messages/{message.id}/favorite", data={"csrf_token": token, "on": "1"}
    )
    assert favorite.status_code == 404
    assert db_session.get(Dialog, dialog.id) is not None


def test_html_in_messages_shows_as_text(client, login_as, character, bus):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "<script>alert(1)</script><b>жирный</b>")
    page = client.get(f"/chat/{dialog_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_twenty_messages_a_minute(client, login_as, character, bus):
    login_as("user")
    dialog_id = start(client, character)
    for n in range(20):
        send(client, dialog_id, f"m{n}")
    send(client, dialog_id, "двадцать первое")
    assert "Не больше 20 сообщений в минуту" in client.get(f"/chat/{dialog_id}").get_data(
        as_text=True
    )


def test_rename_and_delete_a_dialog(client, login_as, character, db_session):
    login_as("user")
    dialog_id = start(client, character)
    token = csrf_token(client, f"/characters/{character.id}")
    client.post(f"/chat/{dialog_id}/rename", data={"title": "  Про  котов ", "csrf_token": token})
    page = client.get(f"/characters/{character.id}").get_data(as_text=True)
    assert "Про котов" in page and "сообщений: 1" in page
    bad = client.post(f"/chat/{dialog_id}/rename", data={"title": " ", "csrf_token": token})
    assert bad.status_code == 302
    client.post(f"/chat/{dialog_id}/delete", data={"csrf_token": token})
    assert db_session.get(Dialog, dialog_id) is None


def test_favorites_star_list_jump_and_the_limit_of_50(client, login_as, character, db_session):
    user = login_as("user")
    dialog_id = start(client, character)
    greeting = db_session.scalar(select(Message).where(Message.dialog_id == dialog_id))
    token = csrf_token(client, f"/chat/{dialog_id}")
    star = client.post(
        f"/chat/messages/{greeting.id}/favorite",
        data={"on": "1", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert "★" in star.get_data(as_text=True)
    page = client.get("/favorites").get_data(as_text=True)
    assert "Алиса" in page and "Привет! Я Алиса." in page
    assert f"/chat/{dialog_id}?before={greeting.id + 1}#m-{greeting.id}" in page

    now = utcnow()
    extra = [
        Message(
            dialog_id=dialog_id, role="assistant", text=f"ответ {n}", status="done", created_at=now
        )
        for n in range(50)
    ]
    db_session.add_all(extra)
    db_session.flush()
    db_session.add_all(
        Favorite(user_id=user.id, message_id=m.id, created_at=now) for m in extra[:49]
    )
    db_session.commit()
    full = client.post(
        f"/chat/messages/{extra[49].id}/favorite", data={"on": "1", "csrf_token": token}
    )
    assert full.headers["Location"] == "/favorites"
    assert "Уберите одно" in client.get("/favorites").get_data(as_text=True)
    assert db_session.scalar(select(func.count()).where(Favorite.user_id == user.id)) == 50


def test_replies_cut_off_by_a_restart_are_asked_for_again(
    app, client, login_as, character, bus, db_session
):
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "ты тут?")
    lost = take_job(db_session)  # the process that held this job is gone
    reply = db_session.get(Message, lost["meta"]["message_id"])
    reply.status, reply.text = Status.STREAMING, "Нача"
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert "asked for again: 1" in result.output
    again = take_job(db_session)
    assert again["job_id"] != lost["job_id"]
    assert again["messages"][-1] == {"role": "user", "content": "ты тут?"}
    open_ = db_session.scalars(select(Message).where(Message.status.in_(("pending", "streaming"))))
    assert [m.id for m in open_] == [again["meta"]["message_id"]]


def test_content_filters_mask_the_stored_reply(app, client, login_as, db_session, bus):
    character = factories.character(db_session, name="Грубиян", filters=["profanity"])
    login_as("user")
    dialog_id = start(client, character)
    send(client, dialog_id, "скажи что-нибудь")
    item = run_job(app, bus, "Ну ты и сука, дружище")
    assert item["meta"]["filters"] == ["profanity"]
    reply = db_session.get(Message, item["meta"]["message_id"])
    assert reply.text == "Ну ты и с***, дружище"


def test_a_socket_send_stores_the_message_clears_the_draft_and_asks_for_a_reply(
    app, db_session, make_user, character, bus
):
    from webapp.chat import drafts
    from webapp.chat import service as chat
    from webapp.chat.socket import ChatSocket
    from webapp.maintenance import flag

    person = make_user()
    dialog = chat.start_dialog(db_session, person.id, character, utcnow())
    db_session.commit()
    drafts.save(bus, person.id, dialog.id, "Недописанное")
    with app.test_request_context():
        socket = ChatSocket(FakeSocket(), person, "device-1", dialog.id, character.id)
        socket._on_frame(json.dumps({"message": "Привет", "client_id": "c1"}))
        assert drafts.load(bus, person.id, dialog.id) == ""
        assert take_job(db_session)["meta"]["dialog_id"] == dialog.id
        # With replies paused, the message is still stored (its own transaction) and the
        # person is told; the draft of a stored message is gone.
        drafts.save(bus, person.id, dialog.id, "Второе")
        ends = (utcnow() + timedelta(minutes=30)).timestamp()
        bus.set(flag.FLAG_KEY, {"window": 1, "scope": "ai", "ends_at": ends})
        try:
            socket._on_frame(json.dumps({"message": "Ещё раз", "client_id": "c2"}))
        finally:
            bus.delete(flag.FLAG_KEY)
        assert "приостановлены" in socket.ws.sent[-1]
        assert drafts.load(bus, person.id, dialog.id) == ""
        assert take_job(db_session) is None
    texts = db_session.scalars(
        select(Message.text).where(Message.dialog_id == dialog.id, Message.role == "user")
    ).all()
    assert texts == ["Привет", "Ещё раз"]


def test_a_persons_devices_render_one_message_event_once(
    app, db_session, make_user, character, monkeypatch
):
    from webapp.chat import events
    from webapp.chat import favorites as fav
    from webapp.chat import service as chat
    from webapp.chat.socket import ChatSocket

    person = make_user()
    dialog = chat.start_dialog(db_session, person.id, character, utcnow())
    db_session.commit()
    greeting = db_session.scalar(select(Message.id).where(Message.dialog_id == dialog.id))
    looked_up = []
    real = fav.message_with_star
    monkeypatch.setattr(fav, "message_with_star", lambda *a: looked_up.append(a) or real(*a))
    change = uuid.uuid4().hex  # events are named uniquely; the cache is the process's
    event = {"type": "message", "change": change, "message_id": greeting}
    with app.test_request_context():
        devices = [
            ChatSocket(FakeSocket(), person, f"d{n}", dialog.id, character.id) for n in (1, 2)
        ]
        for device in devices:
            device._on_event(events.dialog_channel(dialog.id), event)
            device.flush()
        assert len(looked_up) == 1
        assert devices[0].ws.sent == devices[1].ws.sent
        assert "Привет! Я Алиса." in devices[0].ws.sent[0]
        # Another event about the same message is looked up again (it may have changed).
        devices[0]._on_event(events.dialog_channel(dialog.id), {**event, "change": change + "-2"})
        assert len(looked_up) == 2


def test_a_new_message_travels_whole_and_renders_without_a_query(
    app, db_session, make_user, character, bus, count_queries
):
    """Its event carries it: each device renders it as if read back, but reads nothing."""
    from webapp.chat import events
    from webapp.chat import service as chat
    from webapp.chat.socket import ChatSocket

    person = make_user()
    dialog = chat.start_dialog(db_session, person.id, character, utcnow())
    db_session.commit()
    listener = bus.subscribe(events.dialog_channel(dialog.id))
    chat.add_user_message(db_session, bus, dialog, "Привет <b>", None, utcnow())
    db_session.commit()
    channel, event = listener.get(timeout=1)
    listener.close()
    assert event["message"]["text"] == "Привет <b>" and event["message"]["status"] == "delivered"
    with app.test_request_context():
        carried, read_back = (
            ChatSocket(FakeSocket(), person, f"d{n}", dialog.id, character.id) for n in (1, 2)
        )
        with count_queries() as rendering:
            carried._on_event(channel, event)
            carried.flush()
        read_back._on_event(channel, {**event, "change": uuid.uuid4().hex, "message": None})
        read_back.flush()
    assert rendering.count == 0, rendering.statements
    assert carried.ws.sent == read_back.ws.sent
    assert "Привет &lt;b&gt;" in carried.ws.sent[0]


def test_a_person_picks_which_greeting_a_dialog_begins_with(client, login_as, db_session):
    character = factories.character(
        db_session,
        name="Лиса",
        greeting="Ах, какой гость!",
        alternate_greetings=["Кто там?", "Здравствуй, {{user}}, давно не виделись."],
    )
    login_as("user", display_name="Оля")
    page = client.get(f"/characters/{character.id}").get_data(as_text=True)
    assert page.count('name="opening"') == 3 and "Здравствуй, Оля" in page
    token = csrf_token(client, f"/characters/{character.id}")
    response = client.post(
        f"/characters/{character.id}/dialogs", data={"csrf_token": token, "opening": "2"}
    )
    dialog_id = int(response.headers["Location"].rsplit("/", 1)[1])
    first = db_session.scalar(select(Message).where(Message.dialog_id == dialog_id))
    assert first.text == "Здравствуй, Оля, давно не виделись."
