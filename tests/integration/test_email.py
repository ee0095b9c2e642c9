"""Email goes through real SMTP: the dev sink (aiosmtpd) writes what it received to .eml files."""

import email
import socket
from dataclasses import replace

import pytest

from webapp.notify.sink import start_sink


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sink(tmp_path, monkeypatch):
    import workers.tasks

    port = free_port()
    controller = start_sink(tmp_path, port=port)
    monkeypatch.setattr(workers.tasks, "settings", replace(workers.tasks.settings, smtp_port=port))
    yield tmp_path
    controller.stop()


def test_send_email_task_delivers_through_smtp_to_the_sink(sink):
    from workers.tasks import send_email

    send_email("anna@example.ru", "Подтвердите email", "Ссылка: https://x/confirm", "<p>html</p>")
    files = list(sink.glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "anna@example.ru"
    assert message["Subject"] == "Подтвердите email"
    assert "Ссылка: https://x/confirm" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)).get_content().strip() == "<p>html</p>"


def test_send_email_raises_when_smtp_is_down_so_huey_retries(monkeypatch):
    import workers.tasks

    monkeypatch.setattr(workers.tasks, "settings", replace(workers.tasks.settings, smtp_port=1))
    result = workers.tasks.send_email("a@b.ru", "s", "t")
    with pytest.raises(Exception, match="Connection refused|refused"):
        result.get()
