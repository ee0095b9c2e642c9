"""The maintenance flag on the bus, read by whoever must behave differently during a stop (the
AI dispatcher, chat replies, sign-in), and the channel chat sockets hear a stop on (with their
acknowledgements). Kept free of imports so any domain can use it without the state machine."""

from __future__ import annotations

from datetime import UTC, datetime

from webapp.bus import Bus, BusUnavailable

FLAG_KEY = "maintenance_mode"  # {"window": id, "scope": "all" | "ai" | ..., "ends_at": epoch}
AI_SCOPES = ("all", "ai")
CHANNEL = "maintenance"  # every chat socket listens here: maintenance_start, maintenance_close
ACK_KEEP = 100_000


def ack_key(window_id: int) -> str:
    return f"maintenance:acks:{window_id}"


def acknowledge(bus: Bus, window_id: int, socket_id: str) -> None:
    """A chat page has shown the stop notice (and sent its draft)."""
    bus.append(ack_key(window_id), {"socket": socket_id}, keep=ACK_KEEP)


def acknowledged(bus: Bus, window_id: int) -> int:
    return len({entry["socket"] for entry in bus.recent(ack_key(window_id))})


def ai_paused(bus: Bus) -> datetime | None:
    """While a stop of the AI (or of everything) is on: its expected end; else None. With the
    bus away it cannot be told: a reply is asked for, and dispatchers, which read the flag
    again before starting any job, hold it while a stop is on."""
    try:
        flag = bus.get(FLAG_KEY)
    except BusUnavailable:
        return None
    if flag and flag.get("scope") in AI_SCOPES:
        return datetime.fromtimestamp(flag["ends_at"], UTC)
    return None
