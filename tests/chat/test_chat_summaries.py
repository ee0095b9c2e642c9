"""The model's summary of a long dialog: asked for in the background once enough older messages
were summarised extractively, stored on the dialog, and used in the next prompts instead."""

import pytest

from pc_node import protocol
from tests import factories
from tests.conftest import csrf_token
from tests.queued import as_job, clear_queue, take_job
from webapp.chat import summaries
from webapp.chat.models import Dialog
from webapp.inference.economy import ECONOMY_KEY
from webapp.inference.queue import Priority
from webapp.inference.status import AI_STATUS_KEY, write_status

DONE = protocol.Done(job_id="x", tokens=40, prompt_ms=1, generation_ms=1)


@pytest.fixture
def bus(app, db_session):
    bus = app.extensions["mehhost.bus"]
    clear_queue(db_session)
    write_status(bus, {"state": "online"})
    yield bus
    bus.delete(ECONOMY_KEY)
    bus.delete(AI_STATUS_KEY)  # other tests expect no node


@pytest.fixture
def long_dialog(login_as, db_session):
    """40 messages: compression keeps 10 of them and summarises the rest."""
    character = factories.character(db_session, name="Алиса")
    user = login_as("user", display_name="Иван")
    roles = ("user", "assistant")
    text = "Реплика {n}. Подробности {n}"
    return factories.dialog(db_session, user.id, character.id, 40, text, roles=roles).id


def send(client, dialog_id, text):
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/{dialog_id}/messages", data={"message": text, "csrf_token": token})


def submitted(db_session) -> dict[str, dict]:
    found = {}
    while (item := take_job(db_session)) is not None:
        found[item["kind"]] = item
    return found


def stored(db_session, dialog_id) -> Dialog:
    db_session.expire_all()
    return db_session.get(Dialog, dialog_id)


def finish(app, item, text):
    from webapp.extensions import db

    app.extensions["mehhost.job_handlers"][item["kind"]].on_done(
        db.session, as_job(item), text, DONE
    )
    db.session.commit()


def test_a_long_dialog_gets_a_written_summary_used_in_later_prompts(
    app, client, long_dialog, bus, db_session
):
    send(client, long_dialog, "Что было раньше?")
    found = submitted(db_session)
    summary_job = found[summaries.KIND]
    assert summary_job["priority"] == Priority.SUMMARY
    request = summary_job["messages"][-1]["content"]
    assert "Иван: Реплика 2. Подробности 2" in request and "Алиса: Реплика 3." in request
    assert "Реплика 0." not in request  # kept word for word in every prompt
    first_prompt = found["chat_reply"]["messages"]
    assert any("Пользователь: Реплика 2." in m["content"] for m in first_prompt)

    send(client, long_dialog, "Ещё раз?")  # one summary at a time per dialog
    assert summaries.KIND not in submitted(db_session)

    finish(app, summary_job, "Иван и Алиса обсуждали реплики со второй по тридцать первую.")
    dialog = stored(db_session, long_dialog)
    assert dialog.written_upto_id == summary_job["meta"]["upto_id"]
    assert dialog.written_summary.startswith("Иван и Алиса обсуждали")

    send(client, long_dialog, "А теперь?")
    prompt = submitted(db_session)["chat_reply"]["messages"]
    summary = next(m["content"] for m in prompt if "Краткое содержание" in m["content"])
    assert "Иван и Алиса обсуждали" in summary
    assert "Реплика 2." not in summary  # covered by the written summary
    page = client.get(f"/chat/{long_dialog}").get_data(as_text=True)
    assert "Иван и Алиса обсуждали" in page  # the person can read what the model was given


def test_no_summary_is_asked_for_while_the_ai_is_busy_or_saving(
    app, client, long_dialog, bus, db_session
):
    write_status(bus, {"state": "overloaded"})
    send(client, long_dialog, "Раз")
    assert summaries.KIND not in submitted(db_session)
    write_status(bus, {"state": "online"})
    bus.set(ECONOMY_KEY, {"on": True, "max_tokens": 192}, ttl=60)
    send(client, long_dialog, "Два")
    assert summaries.KIND not in submitted(db_session)


def test_a_failed_or_empty_summary_changes_nothing_and_is_asked_for_again(
    app, client, long_dialog, bus, db_session
):
    send(client, long_dialog, "Раз")
    item = submitted(db_session)[summaries.KIND]
    finish(app, item, "Ну")  # not a summary
    assert stored(db_session, long_dialog).written_summary is None
    send(client, long_dialog, "Два")
    again = submitted(db_session)[summaries.KIND]
    handler = app.extensions["mehhost.job_handlers"][summaries.KIND]
    handler.on_ended(db_session, as_job(again), "", cancelled=True)
    db_session.commit()
    send(client, long_dialog, "Три")
    assert summaries.KIND in submitted(db_session)
