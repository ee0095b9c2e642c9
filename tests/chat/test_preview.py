from sqlalchemy import func, select

from pc_node import protocol
from tests.characters.test_character_editor import form_data
from tests.queued import as_job, clear_queue, take_job
from webapp.chat.models import Dialog
from webapp.inference.queue import Priority


def test_a_manager_tries_an_unsaved_draft_through_the_queue(app, client, login_as, db_session):
    clear_queue(db_session)
    login_as("manager")
    data = form_data(client, "/manage/characters/new", name="Черновой")
    data["preview_message"] = "Привет, кто ты?"
    response = client.post("/manage/characters/preview", data=data, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "не сохраняется как диалог" in body
    assert 'hx-trigger="every 1s"' in body
    item = take_job(db_session)
    assert item["kind"] == "preview" and item["priority"] == Priority.PREVIEW
    assert item["messages"][-1] == {"role": "user", "content": "Привет, кто ты?"}
    assert "моряк Степан" in item["messages"][0]["content"]  # the draft's own prompt
    job = as_job(item)
    handler = app.extensions["mehhost.job_handlers"]["preview"]
    handler.on_started(db_session, job)
    handler.on_done(
        db_session,
        job,
        "Я моряк.",
        protocol.Done(job_id=job.job_id, tokens=2, prompt_ms=1, generation_ms=1),
    )
    done = client.get(
        f"/manage/characters/preview/{job.job_id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Я моряк." in done and "every 1s" not in done  # polling stops when done
    assert db_session.scalar(select(func.count()).select_from(Dialog)) == 0


def test_preview_checks_the_draft_and_is_private(app, client, login_as):
    login_as("manager")
    data = form_data(client, "/manage/characters/new", name="Я")
    data["preview_message"] = "Привет"
    bad = client.post("/manage/characters/preview", data=data)
    assert bad.status_code == 422 and "Имя: от 2 до 50" in bad.get_data(as_text=True)
    empty = form_data(client, "/manage/characters/new")
    assert "напишите что-нибудь" in client.post("/manage/characters/preview", data=empty).get_data(
        as_text=True
    )
    assert client.get("/manage/characters/preview/nope").status_code == 404


def test_a_preview_waiting_for_an_offline_ai_says_so_keeps_its_message_and_can_be_dropped(
    app, client, login_as, db_session
):
    from tests.conftest import csrf_token
    from tests.queued import waiting_jobs

    clear_queue(db_session)
    login_as("manager")
    data = form_data(client, "/manage/characters/new", name="Черновой")
    data["preview_message"] = "Ты здесь?"
    client.post("/manage/characters/preview", data=data)
    job_id = waiting_jobs(db_session)[-1]["job_id"]
    page = client.get(f"/manage/characters/preview/{job_id}").get_data(as_text=True)
    assert "ИИ недоступен" in page  # no node has said anything: offline
    assert "Ты здесь?" in page  # the message stays on every refresh
    token = csrf_token(client, f"/manage/characters/preview/{job_id}")
    dropped = client.post(
        f"/manage/characters/preview/{job_id}/cancel", data={"csrf_token": token}
    ).get_data(as_text=True)
    assert "ответ остановлен" in dropped and "Ты здесь?" in dropped
    assert waiting_jobs(db_session) == []
    login_as("manager")  # another manager may not touch it
    assert client.post(f"/manage/characters/preview/{job_id}/cancel", data={
        "csrf_token": csrf_token(client, "/manage/characters")}).status_code == 404  # fmt: skip
