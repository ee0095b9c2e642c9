"""Email goes through real SMTP: the dev sink (aiosmtpd) writes what it received to .eml files."""

import pytest

from tests.conftest import patched_settings
from webapp.notify.tasks import send_email


def test_send_email_task_delivers_through_smtp_to_the_sink(mailbox):
    send_email("anna@example.ru", "Подтвердите email", "Ссылка: https://x/confirm", "<p>html</p>")
    [message] = mailbox.messages()
    assert message["To"] == "anna@example.ru"
    assert message["Subject"] == "Подтвердите email"
    assert "Ссылка: https://x/confirm" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)).get_content().strip() == "<p>html</p>"


def test_send_email_raises_when_smtp_is_down_so_huey_retries(worker_app):
    with patched_settings(worker_app, smtp_port=1):
        result = send_email("a@b.ru", "s", "t")
        with pytest.raises(Exception, match="refused"):
            result.get()


def test_an_email_queued_under_the_old_task_name_is_still_sent(mailbox, worker_app, tmp_path):
    """A queue filled before the tasks moved to their domains names `workers.tasks.send_email`;
    a consumer of this release takes it from a real (non-immediate) queue and delivers it."""
    from dataclasses import replace

    from huey.registry import Message

    from webapp.tasks import LEGACY_MODULE, declared, make_huey

    settings = replace(
        worker_app.extensions["mehhost.settings"],
        env="development",
        redis_url="",
        huey_sqlite_path=tmp_path / "queue.db",
    )
    huey = make_huey(settings)
    for declared_task in declared().values():
        declared_task.register(huey)
    old = Message(
        "m-1", f"{LEGACY_MODULE}.send_email", None, 0, 0, None, ("old@b.ru", "s", "t"), {}
    )
    huey.storage.enqueue(huey.serializer.serialize(old))
    huey.execute(huey.dequeue())
    [message] = mailbox.messages()
    assert message["To"] == "old@b.ru" and message["Subject"] == "s"


def test_queued_email_leaves_only_after_the_commit(app, mailbox, db_session):
    from webapp.notify.outbox import queue_text

    with app.test_request_context():
        queue_text(db_session, "rolled@b.ru", "s", "t")
        assert mailbox.messages() == []  # not before the commit ...
        db_session.rollback()
        queue_text(db_session, "kept@b.ru", "s", "t")
        db_session.commit()
    assert [m["To"] for m in mailbox.messages()] == ["kept@b.ru"]  # ... and never after a rollback
