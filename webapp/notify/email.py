"""Sending email through the configured SMTP server (the dev sink on 127.0.0.1:8025 by default)."""

from __future__ import annotations

import mimetypes
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from config.settings import Settings


def build_message(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    attachments: Sequence[str | Path] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mehhost.local")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        path = Path(attachment)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


def send_message(settings: Settings, message: EmailMessage, timeout: float = 10.0) -> None:
    """Deliver one message; SMTP errors propagate so the caller (a Huey task) can retry."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)
