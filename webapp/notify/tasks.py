"""Notify's background work: delivering one email."""

from __future__ import annotations

from webapp.extensions import get_settings
from webapp.notify.email import build_message, send_message
from webapp.tasks import service_scope, task


@task(retries=5, retry_delay=30)
def send_email(
    to: str, subject: str, text: str, html: str = "", attachments: tuple[str, ...] = ()
) -> None:
    """Deliver one email (files attached by path); an SMTP failure is retried five times, 30 s
    apart."""
    with service_scope():
        settings = get_settings()
    send_message(settings, build_message(settings, to, subject, text, html, attachments))
