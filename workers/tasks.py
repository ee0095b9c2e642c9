"""Huey tasks. Run the consumer with: huey_consumer workers.tasks.huey"""

from __future__ import annotations

from webapp.notify.email import build_message, send_message
from workers.huey_app import huey, settings


@huey.task(retries=5, retry_delay=30)
def send_email(to: str, subject: str, text: str, html: str = "") -> None:
    """Deliver one email; an SMTP failure is retried five times, 30 s apart."""
    send_message(settings, build_message(settings, to, subject, text, html))
