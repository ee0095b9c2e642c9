"""Queueing email from the web app: render the text here, deliver in the worker (Huey)."""

from __future__ import annotations

from typing import Any

from flask import render_template


def queue_email(to: str, subject: str, template: str, **context: Any) -> None:
    """Render templates/email/<template>.txt and hand it to the worker's send_email task."""
    from workers.tasks import send_email  # the worker package imports the app's services

    send_email(to, str(subject), render_template(f"email/{template}.txt", **context))
