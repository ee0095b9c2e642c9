"""Email goes through real SMTP: the dev sink (aiosmtpd) writes what it received to .eml files."""

import pytest

from tests.conftest import patched_settings


def test_send_email_task_delivers_through_smtp_to_the_sink(mailbox):
    from workers.tasks import send_email

    send_email("anna@example.ru", "Подтвердите email", "Ссылка: https://x/confirm", "<p>html</p>")
    [message] = mailbox.messages()
    assert message["To"] == "anna@example.ru"
    assert message["Subject"] == "Подтвердите email"
    assert "Ссылка: https://x/confirm" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)).get_content().strip() == "<p>html</p>"


def test_send_email_raises_when_smtp_is_down_so_huey_retries(worker_app):
    import workers.tasks

    with patched_settings(worker_app, smtp_port=1):
        result = workers.tasks.send_email("a@b.ru", "s", "t")
        with pytest.raises(Exception, match="refused"):
            result.get()
