"""Sending due alert notices, one commit per notice so a crash never sends one twice."""

from __future__ import annotations

from collections import Counter

from flask import Flask
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.db import utcnow
from webapp.monitoring import evaluation
from webapp.monitoring.alerts import Notifier, attempt, due_deliveries
from webapp.notify import channels
from webapp.notify.config import load_channels
from webapp.pii import PiiCipher


def notifier_for(app: Flask, session: Session) -> Notifier:
    """The notifier alerts are raised through: the channel settings read when first needed."""
    settings = app.extensions["mehhost.settings"]
    pii = app.extensions["mehhost.pii"]
    return Notifier(
        lambda: load_channels(session, settings, pii), evaluation.compose(settings.base_url)
    )


def deliver_due(session: Session, settings: Settings, cipher: PiiCipher) -> dict[str, int]:
    config = load_channels(session, settings, cipher)
    outcome: Counter[str] = Counter()
    for delivery in due_deliveries(session, utcnow()):
        ok = attempt(
            delivery,
            lambda d: channels.send(settings, config, d.channel, d.recipient, d.text),
            utcnow(),
        )
        outcome["sent" if ok else "failed"] += 1
        session.commit()
    return {"sent": outcome["sent"], "failed": outcome["failed"]}
