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

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.maintenance import emails, page, recovery
from webapp.maintenance.flag import CHANNEL, FLAG_KEY, ack_key, acknowledged
from webapp.maintenance.models import Kind, MaintenanceWindow, Scope, State
from webapp.maintenance.service import due_notices
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


def tick(
    session: Session, bus: Bus, cipher: PiiCipher, settings, now: datetime, **drain
) -> dict[str, int]:
    """Queue due notices, stop windows whose start has come, recover those whose end has
    (through the checked steps of webapp.maintenance.recovery); return the counts. The emails
    leave once the state that says they were sent is committed."""
    done = {"notices": 0, "stopped": 0, "recovered": 0}
    windows = session.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.state.in_((State.SCHEDULED, State.DOWN)))
    ).all()
    for window in windows:
        if window.state == State.SCHEDULED and window.starts_at > now:
            if window.kind != Kind.EMERGENCY:
                for notice in due_notices(window, now):
                    done["notices"] += emails.send(session, cipher, window, "planned")
                    window.mark_sent(notice)
        elif window.state == State.SCHEDULED:
            if window.kind == Kind.EMERGENCY and "emergency" not in window.sent:
                done["notices"] += emails.send(session, cipher, window, "emergency")
                window.mark_sent("emergency")
            stop(session, bus, window, settings.maintenance_page_dir, now, **drain)
            done["stopped"] += 1
        elif window.state == State.DOWN and window.ends_at <= now:
            back, told = recovery.run(session, bus, cipher, settings, window, now)
            done["notices"] += told
            done["recovered"] += back
    return done
