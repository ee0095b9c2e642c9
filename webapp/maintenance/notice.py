"""What every page knows about the nearest maintenance window, cached on the bus for half a
minute so a page view costs one bus read, not a query (any change to a window drops it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.maintenance.service import Notice, notice_at, upcoming

CACHE_KEY = "maintenance:next"
CACHE_TTL_S = 30


@dataclass(frozen=True)
class NextWindow:
    id: int
    kind: str
    scope: str
    starts_at: datetime
    ends_at: datetime
    reason: str


def forget(bus: Bus) -> None:
    """Call after any change to a window: pages then see it at once."""
    bus.delete(CACHE_KEY)


def next_window(session: Session, bus: Bus, now: datetime) -> NextWindow | None:
    """The nearest confirmed window that has not ended (from the cache when it is fresh)."""
    cached = bus.get(CACHE_KEY)
    if cached is None:
        window = upcoming(session, now)
        cached = (
            {
                "id": window.id,
                "kind": window.kind,
                "scope": window.scope,
                "starts_at": window.starts_at.timestamp(),
                "ends_at": window.ends_at.timestamp(),
                "reason": window.reason,
            }
            if window is not None
            else {}
        )
        bus.set(CACHE_KEY, cached, ttl=CACHE_TTL_S)
    if not cached or cached["ends_at"] <= now.timestamp():
        return None
    return NextWindow(
        cached["id"],
        cached["kind"],
        cached["scope"],
        datetime.fromtimestamp(cached["starts_at"], UTC),
        datetime.fromtimestamp(cached["ends_at"], UTC),
        cached["reason"],
    )


def current(session: Session, bus: Bus, now: datetime) -> Notice | None:
    """What pages show now: the banner, the modal, the sign-in block."""
    return notice_at(next_window(session, bus, now), now)
