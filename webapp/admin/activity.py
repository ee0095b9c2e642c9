"""One user's activity for the admin: sign-ins, devices and messages per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.auth.models import DeviceSession
from webapp.chat.models import Dialog, Message, Role
from webapp.monitoring.events import EVENT_NAMES
from webapp.monitoring.models import LogCategory, LogEntry

DAYS = 30
RECENT_LOGINS = 50
DEVICES_SHOWN = 50
# Security events that describe someone signing in or out (the log viewer has the rest).
SIGN_IN_EVENTS = {
    event: EVENT_NAMES[event]
    for event in ("login", "login_failed", "account_locked", "session_ended", "refresh_token_reuse")
}
BAR_W, BAR_GAP, CHART_H = 8, 2, 48


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int
    height: float  # of the bar in a CHART_H-high chart
    x: int


@dataclass(frozen=True)
class Activity:
    logins: list[LogEntry]
    devices: list[DeviceSession]
    days: list[DayCount]  # oldest first, one per day, zeros included
    total_messages: int
    peak: int

    @property
    def chart_width(self) -> int:
        return len(self.days) * (BAR_W + BAR_GAP)


def _day(value) -> date:
    # DATE() comes back as a date on MariaDB and as 'YYYY-MM-DD' text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def messages_per_day(session: Session, user_id: int, now: datetime, days: int = DAYS) -> list:
    """(day, count) of the messages this person wrote over the last `days` UTC days."""
    first = (now - timedelta(days=days - 1)).date()
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    day = func.date(Message.created_at)
    rows = session.execute(
        select(day, func.count())
        .join(Dialog, Dialog.id == Message.dialog_id)
        .where(
            Dialog.user_id == user_id,
            Message.role == Role.USER,
            Message.created_at >= start,
        )
        .group_by(day)
    ).all()
    counts = {_day(value): count for value, count in rows}
    return [
        (first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)
    ]


def user_activity(session: Session, user_id: int, now: datetime) -> Activity:
    logins = session.scalars(
        select(LogEntry)
        .where(
            LogEntry.user_id == user_id,
            LogEntry.category == LogCategory.SECURITY,
            LogEntry.event.in_(list(SIGN_IN_EVENTS)),
        )
        .order_by(LogEntry.created_at.desc(), LogEntry.id.desc())
        .limit(RECENT_LOGINS)
    ).all()
    devices = session.scalars(
        select(DeviceSession)
        .where(DeviceSession.user_id == user_id)
        .order_by(DeviceSession.last_seen_at.desc())
        .limit(DEVICES_SHOWN)
    ).all()
    per_day = messages_per_day(session, user_id, now)
    peak = max((count for _, count in per_day), default=0)
    bars = [
        DayCount(
            day, count, round(count / peak * CHART_H, 1) if peak else 0.0, n * (BAR_W + BAR_GAP)
        )
        for n, (day, count) in enumerate(per_day)
    ]
    return Activity(list(logins), list(devices), bars, sum(c for _, c in per_day), peak)
