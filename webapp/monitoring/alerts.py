"""Alerts: raise and resolve by key, deduplicate, escalate, acknowledge; who is told, and when.

Severity decides the channels: high -> email, Telegram and SMS (escalated every 30 minutes until
acknowledged); medium -> email and Telegram; low -> the panel and the daily report only.
Deliveries are rows; the worker sends them (notify.channels) and retries failures with backoff.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from webapp.monitoring.models import (
    Alert,
    AlertDelivery,
    AlertState,
    DeliveryStatus,
    Severity,
)
from webapp.notify.config import ChannelConfig

DEDUP_WINDOW = timedelta(minutes=5)
ESCALATE_AFTER = timedelta(minutes=30)
RETRY_FIRST = timedelta(seconds=30)
RETRY_LONGEST = timedelta(minutes=30)
CHANNELS_BY_SEVERITY = {
    Severity.LOW: (),
    Severity.MEDIUM: ("email", "telegram"),
    Severity.HIGH: ("email", "telegram", "sms"),
}
RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


@dataclass(frozen=True)
class Notifier:
    """Who is told, and the words: compose(alert, reason, ack_token, channel) -> message text.

    The recipients are read on first use only, so a quiet round costs no settings query."""

    load_channels: Callable[[], ChannelConfig]
    compose: Callable[[Alert, str, str | None, str], str]

    @cached_property
    def channels(self) -> ChannelConfig:
        return self.load_channels()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def latest(session: Session, key: str) -> Alert | None:
    return session.scalars(
        select(Alert).where(Alert.key == key).order_by(Alert.started_at.desc(), Alert.id.desc())
    ).first()


def raise_alert(
    session: Session,
    notifier: Notifier,
    *,
    key: str,
    severity: Severity,
    title: str,
    now: datetime,
    detail: str = "",
    value: float | None = None,
    threshold_value: float | None = None,
) -> Alert:
    """Fire (or keep firing) the alert of `key`.

    The same key resolved less than 5 minutes ago is reopened quietly (no second notice);
    a firing alert is told about again only when its severity goes up.
    """
    alert = latest(session, key)
    notify = True
    if alert is not None and alert.state == AlertState.FIRING:
        notify = RANK[severity] > RANK[alert.severity]
    elif (
        alert is not None
        and alert.resolved_at is not None
        and now - alert.resolved_at < DEDUP_WINDOW
        and RANK[severity] <= RANK[alert.severity]
    ):
        alert.state, alert.resolved_at = AlertState.FIRING, None
        notify = False
    else:
        alert = Alert(key=key, started_at=now, state=AlertState.FIRING, notify_count=0)
        session.add(alert)
    alert.severity = severity
    alert.title, alert.detail = title, detail
    alert.value, alert.threshold_value = value, threshold_value
    session.flush()
    if notify:
        _notify(session, alert, notifier, now, "fired")
    return alert


def resolve_alert(session: Session, notifier: Notifier, key: str, now: datetime) -> Alert | None:
    """End the firing alert of `key`; people who were told it fired are told it ended."""
    alert = latest(session, key)
    if alert is None or alert.state != AlertState.FIRING:
        return None
    alert.state, alert.resolved_at = AlertState.RESOLVED, now
    told = session.execute(
        select(AlertDelivery.channel, AlertDelivery.recipient)
        .where(AlertDelivery.alert_id == alert.id, AlertDelivery.reason != "resolved")
        .distinct()
    ).all()
    _deliver(session, alert, notifier, now, "resolved", None, [tuple(row) for row in told])
    return alert


def escalate_due(session: Session, notifier: Notifier, now: datetime) -> list[Alert]:
    """High alerts still firing and unacknowledged 30 minutes after their last notice."""
    due = session.scalars(
        select(Alert).where(
            Alert.state == AlertState.FIRING,
            Alert.severity == Severity.HIGH,
            Alert.acknowledged_at.is_(None),
            Alert.notified_at <= now - ESCALATE_AFTER,
        )
    ).all()
    for alert in due:
        _notify(session, alert, notifier, now, "escalated")
    return list(due)


def acknowledge(session: Session, alert: Alert, user_id: int | None, now: datetime) -> bool:
    """Stop escalation; False when it was already acknowledged."""
    if alert.acknowledged_at is not None:
        return False
    alert.acknowledged_at, alert.acknowledged_by = now, user_id
    return True


def by_ack_token(session: Session, token: str) -> Alert | None:
    if not token or len(token) > 100:
        return None
    return session.scalars(select(Alert).where(Alert.ack_token_hash == _hash(token))).first()


def _notify(
    session: Session, alert: Alert, notifier: Notifier, now: datetime, reason: str
) -> list[AlertDelivery]:
    """Tell the recipients of the alert's severity; the newest notice's link acknowledges."""
    channels = notifier.channels
    recipients = {
        "email": channels.emails,
        "telegram": channels.telegram_chat_ids if channels.telegram_token else (),
        "sms": channels.sms_phones,
    }
    token = secrets.token_urlsafe(24)
    alert.ack_token_hash = _hash(token)
    alert.notified_at, alert.notify_count = now, alert.notify_count + 1
    targets = [
        (channel, recipient)
        for channel in CHANNELS_BY_SEVERITY[alert.severity]
        for recipient in recipients[channel]
    ]
    return _deliver(session, alert, notifier, now, reason, token, targets)


def _deliver(
    session: Session,
    alert: Alert,
    notifier: Notifier,
    now: datetime,
    reason: str,
    token: str | None,
    targets: list[tuple[str, str]],
) -> list[AlertDelivery]:
    created = [
        AlertDelivery(
            alert_id=alert.id,
            channel=channel,
            recipient=recipient,
            reason=reason,
            text=notifier.compose(alert, reason, token, channel),
            next_try_at=now,
            created_at=now,
        )
        for channel, recipient in targets
    ]
    session.add_all(created)
    session.flush()
    return created


def due_deliveries(session: Session, now: datetime, limit: int = 100) -> list[AlertDelivery]:
    return list(
        session.scalars(
            select(AlertDelivery)
            .where(
                or_(
                    AlertDelivery.status == DeliveryStatus.PENDING,
                    AlertDelivery.status == DeliveryStatus.FAILED,
                ),
                AlertDelivery.next_try_at <= now,
            )
            .order_by(AlertDelivery.next_try_at)
            .limit(limit)
        )
    )


def attempt(delivery: AlertDelivery, send: Callable[[AlertDelivery], None], now: datetime) -> bool:
    """Try one delivery; a failure is kept with its error and tried again later (backoff)."""
    delivery.attempts += 1
    try:
        send(delivery)
    except Exception as exc:  # every transport's failure is recorded the same way
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
        delay = min(RETRY_LONGEST, RETRY_FIRST * 2 ** (delivery.attempts - 1))
        delivery.next_try_at = now + delay
        return False
    delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, ""
    return True
