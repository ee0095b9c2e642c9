"""Maintenance windows from the request to the recovery.

A moderator requests a window and an admin confirms it (an admin's own request is confirmed at
once). As a planned start nears, people are told: emails 24 h, 12 h and 1 h ahead (to those who
did not opt out), a banner on every page from 1 h, a modal from 15 minutes, and no new sign-ins
from 5 minutes before the start. `tick` runs every minute (Huey) with the time passed in, so
the whole schedule is testable with an injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.accounts.models import Role, User
from webapp.maintenance.errors import MaintenanceError
from webapp.maintenance.models import (
    NOTICES,
    OPEN_STATES,
    Kind,
    MaintenanceWindow,
    Scope,
    State,
)

BANNER_BEFORE = timedelta(hours=1)
MODAL_BEFORE = timedelta(minutes=15)
BLOCK_LOGINS_BEFORE = timedelta(minutes=5)
MIN_DURATION, MAX_DURATION = 5, 12 * 60  # minutes
MAX_REASON = 300
CANCEL_UNTIL = timedelta(minutes=15)  # a planned window can be cancelled until 15 min ahead


@dataclass(frozen=True)
class Request:
    """A window as asked for, validated once (webapp.maintenance.forms builds it)."""

    kind: Kind
    scope: Scope
    starts_at: datetime
    minutes: int
    reason: str


def _overlapping(session: Session, starts: datetime, ends: datetime, but: int | None = None):
    query = select(MaintenanceWindow).where(
        MaintenanceWindow.state.in_(OPEN_STATES),
        MaintenanceWindow.starts_at < ends,
        MaintenanceWindow.ends_at > starts,
    )
    if but is not None:
        query = query.where(MaintenanceWindow.id != but)
    return session.scalars(query).first()


def request_window(
    session: Session, user: User, asked: Request, now: datetime
) -> MaintenanceWindow:
    """File a window. Admins' windows are confirmed at once; an emergency starts now."""
    if user.role not in (Role.ADMIN, Role.MODERATOR):
        raise MaintenanceError(_("Запросить обслуживание могут модераторы и администраторы."))
    if asked.kind == Kind.EMERGENCY and user.role != Role.ADMIN:
        raise MaintenanceError(_("Экстренное выключение доступно только администратору."))
    starts = now if asked.kind == Kind.EMERGENCY else asked.starts_at
    if asked.kind != Kind.EMERGENCY and starts <= now:
        raise MaintenanceError(_("Начало уже прошло: выберите время в будущем."), "starts_at")
    if not MIN_DURATION <= asked.minutes <= MAX_DURATION:
        raise MaintenanceError(
            _("Длительность: от %(a)s до %(b)s минут.", a=MIN_DURATION, b=MAX_DURATION), "minutes"
        )
    ends = starts + timedelta(minutes=asked.minutes)
    clash = _overlapping(session, starts, ends) if asked.kind != Kind.TEST else None
    if clash is not None:
        raise MaintenanceError(
            _("Окно пересекается с обслуживанием №%(n)s.", n=clash.id), "starts_at"
        )
    window = MaintenanceWindow(
        kind=asked.kind,
        scope=asked.scope if asked.kind == Kind.PARTIAL else Scope.ALL,
        state=State.SCHEDULED if user.role == Role.ADMIN else State.REQUESTED,
        starts_at=starts,
        ends_at=ends,
        reason=asked.reason.strip()[:MAX_REASON],
        requested_by=user.id,
        confirmed_by=user.id if user.role == Role.ADMIN else None,
        notices_sent="",
    )
    session.add(window)
    session.flush()
    return window


def confirm(session: Session, admin: User, window: MaintenanceWindow, now: datetime) -> None:
    if window.state != State.REQUESTED:
        raise MaintenanceError(_("Подтвердить можно только ожидающий запрос."))
    if window.starts_at <= now:
        raise MaintenanceError(_("Время начала уже прошло: запрос нужно подать заново."))
    clash = _overlapping(session, window.starts_at, window.ends_at, but=window.id)
    if clash is not None and clash.state != State.REQUESTED:
        raise MaintenanceError(_("Окно пересекается с обслуживанием №%(n)s.", n=clash.id))
    window.state, window.confirmed_by = State.SCHEDULED, admin.id


def reject(window: MaintenanceWindow) -> None:
    if window.state != State.REQUESTED:
        raise MaintenanceError(_("Отклонить можно только ожидающий запрос."))
    window.state = State.REJECTED


def cancel(window: MaintenanceWindow, now: datetime) -> bool:
    """Cancel a requested or scheduled window; True when people were told about it already
    (they are then told it is cancelled)."""
    if window.state not in (State.REQUESTED, State.SCHEDULED):
        raise MaintenanceError(_("Отменить можно только окно, которое ещё не началось."))
    if window.kind == Kind.PLANNED and window.starts_at - now < CANCEL_UNTIL:
        raise MaintenanceError(_("До начала меньше 15 минут: отменить уже нельзя."))
    window.state, window.cancelled_at = State.CANCELLED, now
    return bool(window.sent)


@dataclass(frozen=True)
class Notice:
    """What every page says about the nearest window (there is one from 1 h before: the
    banner)."""

    window: Any  # a MaintenanceWindow, or notice.NextWindow from the cache
    modal: bool  # from 15 min before
    logins_blocked: bool  # from 5 min before (and while it lasts)
    registration_closed: bool  # the same, for a stop of everything or of registration alone
    seconds_left: int


def upcoming(session: Session, now: datetime) -> MaintenanceWindow | None:
    """The nearest confirmed window that has not ended (test windows count: they rehearse)."""
    return session.scalars(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.state.in_(
                (State.SCHEDULED, State.DRAINING, State.DOWN, State.RECOVERING)
            ),
            MaintenanceWindow.ends_at > now,
        )
        .order_by(MaintenanceWindow.starts_at)
        .limit(1)
    ).first()


def notice_at(window, now: datetime) -> Notice | None:
    if window is None:
        return None
    left = window.starts_at - now
    if left > BANNER_BEFORE:
        return None
    near = left <= BLOCK_LOGINS_BEFORE and window.kind != Kind.TEST
    return Notice(
        window,
        modal=left <= MODAL_BEFORE,
        logins_blocked=near and window.scope == Scope.ALL,
        registration_closed=near and window.scope in (Scope.ALL, Scope.REGISTRATION),
        seconds_left=max(0, int(left.total_seconds())),
    )


def due_notices(window: MaintenanceWindow, now: datetime) -> list[str]:
    """The e-mail notices whose time has come and that were not sent yet (a window scheduled
    11 hours ahead sends only the 1 h one when it is due: no burst of stale notices)."""
    left = window.starts_at - now
    due = [name for name, minutes in NOTICES if left <= timedelta(minutes=minutes)]
    missed = [name for name in due[:-1] if name not in window.sent]
    for name in missed:
        window.mark_sent(name)  # too late for it: the nearer one says the same
    return [name for name in due[-1:] if name not in window.sent]


def recipients(session: Session) -> list[User]:
    """Everyone who should hear about planned maintenance by email."""
    return list(
        session.scalars(
            select(User).where(
                User.maintenance_emails.is_(True),
                User.email_confirmed_at.is_not(None),
                User.is_blocked.is_(False),
            )
        )
    )


def history(
    session: Session,
    kind: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[MaintenanceWindow]:
    query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at.desc())
    if kind:
        query = query.where(MaintenanceWindow.kind == kind)
    if state:
        query = query.where(MaintenanceWindow.state == state)
    if since:
        query = query.where(MaintenanceWindow.starts_at >= since)
    if until:
        query = query.where(MaintenanceWindow.starts_at < until)
    return list(session.scalars(query.limit(500)))


def names(session: Session, windows: list[MaintenanceWindow]) -> dict[int, str]:
    """Display names of who requested and confirmed the windows, in one query."""
    ids = {w.requested_by for w in windows} | {w.confirmed_by for w in windows}
    ids.discard(None)
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


@dataclass(frozen=True)
class Downtime:
    total_minutes: int
    planned_minutes: int
    unplanned_minutes: int
    by_month: list[tuple[str, int]]  # ("2026-11", minutes), newest first


def downtime(session: Session, now: datetime) -> Downtime:
    """Real downtime (stopped to recovered) of windows that stopped something, in minutes."""
    rows = session.execute(
        select(
            MaintenanceWindow.kind, MaintenanceWindow.stopped_at, MaintenanceWindow.recovered_at
        ).where(MaintenanceWindow.stopped_at.is_not(None), MaintenanceWindow.kind != Kind.TEST)
    ).all()
    planned = unplanned = 0
    months: dict[str, int] = {}
    for kind, stopped, recovered in rows:
        minutes = int(((recovered or now) - stopped).total_seconds() // 60)
        if kind == Kind.EMERGENCY:
            unplanned += minutes
        else:
            planned += minutes
        month = stopped.strftime("%Y-%m")
        months[month] = months.get(month, 0) + minutes
    return Downtime(planned + unplanned, planned, unplanned, sorted(months.items(), reverse=True))
