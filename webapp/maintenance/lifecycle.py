"""What happens to a window as time passes: e-mail notices, the stop and the recovery.

`tick(now)` is called every minute by the worker (and at once for an emergency). The stop puts
the maintenance flag on the bus (every web process reads it: banners, the login block, the AI
queue for a partial stop), tells every open chat socket "maintenance_start", and writes the
static maintenance page where nginx serves it. A test window runs every step and records its
timings but sets no flag and writes no page: nothing real stops.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.accounts.models import Role, User
from webapp.accounts.service import email_of
from webapp.bus import Bus
from webapp.i18n import MOSCOW
from webapp.maintenance import page
from webapp.maintenance.flag import CHANNEL, FLAG_KEY, ack_key, acknowledged
from webapp.maintenance.models import Kind, MaintenanceWindow, Scope, State
from webapp.maintenance.service import due_notices, recipients
from webapp.monitoring import presence
from webapp.pii import PiiCipher

log = logging.getLogger(__name__)
ACK_SHARE = 0.95  # the stop goes on once this share of open sockets acknowledged ...
ACK_WAIT_S = 30.0  # ... or after this long, whichever comes first


def drain_sockets(
    bus: Bus,
    window: MaintenanceWindow,
    expected: int | None = None,
    wait_s: float = ACK_WAIT_S,
    clock=time.monotonic,
    sleep=time.sleep,
) -> int:
    """Tell every chat socket the stop begins, wait for 95 % of them to acknowledge (or
    `wait_s`), then close them all (a rehearsal keeps them open). Returns the acks."""
    if expected is None:
        expected, _users = presence.online(bus)
    rehearsal = window.kind == Kind.TEST
    event = {
        "window": window.id,
        "scope": window.scope,
        "ends_at": window.ends_at.timestamp(),
        "rehearsal": rehearsal,
    }
    bus.delete(ack_key(window.id))  # a stop is acknowledged afresh (a rehearsal ran before)
    bus.publish(CHANNEL, {"type": "maintenance_start", **event})
    needed = math.ceil(expected * ACK_SHARE)
    deadline = clock() + wait_s
    acks = acknowledged(bus, window.id)
    while acks < needed and clock() < deadline:
        sleep(0.1)
        acks = acknowledged(bus, window.id)
    bus.publish(CHANNEL, {"type": "maintenance_close", **event})
    return acks


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone) if user.timezone else MOSCOW
    except (ZoneInfoNotFoundError, ValueError):
        return MOSCOW


def _when(moment: datetime, user: User) -> str:
    """The moment in the person's own time zone, named."""
    zone = _zone(user)
    return f"{moment.astimezone(zone).strftime('%d.%m.%Y %H:%M')} ({zone.key})"


Email = tuple[str, str, str]  # (to, subject, text)


def compose_notices(
    session: Session, cipher: PiiCipher, window: MaintenanceWindow, event: str
) -> list[Email]:
    """One email per recipient (a rehearsal's only to the staff), to send once the state that
    says they were sent is committed: `deliver` after the transaction."""
    people = recipients(session)
    if window.kind == Kind.TEST:
        people = [p for p in people if p.role in (Role.ADMIN, Role.MODERATOR)]
    settings_link = url_for("accounts.profile", _external=True)
    emails = []
    for person in people:
        with force_locale(person.locale or "ru"):
            subject = {
                "cancelled": _("mehhost chat: обслуживание отменено"),
                "restored": _("mehhost chat снова работает"),
                "emergency": _("mehhost chat: экстренное отключение"),
            }.get(event, _("mehhost chat: плановое обслуживание"))
            text = render_template(
                "email/maintenance.txt",
                name=person.display_name,
                event=event,
                scope=window.scope,
                starts=_when(window.starts_at, person),
                ends=_when(window.ends_at, person),
                reason=window.reason,
                settings_link=settings_link,
            )
        emails.append((email_of(person, cipher), str(subject), text))
    return emails


def deliver(emails: list[Email]) -> int:
    from workers.tasks import send_email

    for to, subject, text in emails:
        send_email(to, subject, text)
    return len(emails)


def stop(
    session: Session,
    bus: Bus,
    window: MaintenanceWindow,
    page_folder,
    now: datetime,
    **drain,
):
    """The stop sequence: the flag (new sign-ins, the AI queue for a partial stop), the chat
    sockets told and closed, the static page; the window is then down. The draining state is
    committed before the sockets are waited for: no transaction (on SQLite, the write lock) is
    held while pages answer, or their acknowledgements could not be written."""
    window.state = State.DRAINING
    real = window.kind != Kind.TEST
    if real:
        bus.set(
            FLAG_KEY,
            {"window": window.id, "scope": window.scope, "ends_at": window.ends_at.timestamp()},
        )
    session.commit()
    if window.scope == Scope.ALL:
        window.drained_sockets = drain_sockets(bus, window, **drain)
    if real and window.scope == Scope.ALL:
        page.write(page_folder, window.ends_at, window.reason)
    window.state, window.stopped_at = State.DOWN, now
    log.warning("maintenance %s (%s, %s) is down", window.id, window.kind, window.scope)


def recover(bus: Bus, window: MaintenanceWindow, now: datetime) -> None:
    """Lift the flag; the window is over. (The page stays on disk: nginx shows it only while
    the app does not answer.)"""
    flag = bus.get(FLAG_KEY)
    if flag and flag.get("window") == window.id:
        bus.delete(FLAG_KEY)
    bus.publish(CHANNEL, {"type": "maintenance_end", "window": window.id})
    window.state, window.recovered_at = State.UP, now


def tick(
    session: Session, bus: Bus, cipher: PiiCipher, settings, now: datetime, **drain
) -> tuple[dict[str, int], list[Email]]:
    """Compose due notices, stop windows whose start has come, recover those whose end has
    (through the checked steps of webapp.maintenance.recovery); return the counts and the
    emails to deliver after the commit."""
    from webapp.maintenance import recovery  # it builds on this module

    done = {"notices": 0, "stopped": 0, "recovered": 0}
    outbox: list[Email] = []
    windows = session.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.state.in_((State.SCHEDULED, State.DOWN)))
    ).all()
    for window in windows:
        if window.state == State.SCHEDULED and window.starts_at > now:
            if window.kind != Kind.EMERGENCY:
                for notice in due_notices(window, now):
                    outbox += compose_notices(session, cipher, window, "planned")
                    window.mark_sent(notice)
        elif window.state == State.SCHEDULED:
            if window.kind == Kind.EMERGENCY and "emergency" not in window.sent:
                outbox += compose_notices(session, cipher, window, "emergency")
                window.mark_sent("emergency")
            stop(session, bus, window, settings.maintenance_page_dir, now, **drain)
            done["stopped"] += 1
        elif window.state == State.DOWN and window.ends_at <= now:
            back, emails = recovery.run(session, bus, cipher, settings, window, now)
            outbox += emails
            done["recovered"] += back
    done["notices"] = len(outbox)
    return done, outbox
