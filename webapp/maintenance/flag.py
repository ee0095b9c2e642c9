"""The maintenance flag on the bus, read by whoever must behave differently during a stop (the
AI dispatcher, chat replies, sign-in). Kept free of imports so any domain can read it."""

from __future__ import annotations

from datetime import UTC, datetime

from webapp.bus import Bus, BusUnavailable

FLAG_KEY = "maintenance_mode"  # {"window": id, "scope": "all" | "ai" | ..., "ends_at": epoch}
AI_SCOPES = ("all", "ai")


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
