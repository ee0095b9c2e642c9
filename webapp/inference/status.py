"""The AI service status everyone reads: online / overloaded / offline, kept under one bus key."""

from __future__ import annotations

from typing import Any

from webapp.bus import Bus, BusUnavailable

AI_STATUS_KEY = "ai_service_status"
AI_STATES = ("online", "overloaded", "offline")
STATUS_TTL = 10.0  # a dispatcher that dies silently reads as offline this long after


def read_status(bus: Bus) -> dict[str, Any]:
    """The last status a dispatcher wrote, or an offline record when none is fresh."""
    try:
        record = bus.get(AI_STATUS_KEY)
    except BusUnavailable:
        record = None
    if not record or record.get("state") not in AI_STATES:
        return {"state": "offline"}
    return record


def write_status(bus: Bus, record: dict[str, Any]) -> None:
    bus.set(AI_STATUS_KEY, record, ttl=STATUS_TTL)
