"""Queueing email: rendered here, in the caller's request or task; delivered by the worker (Huey)
once the caller's transaction commits."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from webapp.notify.tasks import send_email
from webapp.tasks import after_commit


def queue_text(session: Session, to: str, subject: str, text: str) -> None:
    """Send `text` to `to` once the session commits (never if it rolls back)."""
    after_commit(session, send_email, to, str(subject), text)


def queue_email(session: Session, to: str, subject: str, template: str, **context: Any) -> None:
    """Render templates/email/<template>.txt now and send it once the session commits."""
    queue_text(session, to, subject, render_template(f"email/{template}.txt", **context))
