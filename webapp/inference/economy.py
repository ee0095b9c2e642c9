"""Economy mode: while the AI is overloaded, new replies get a shorter maximum length, so the
queue drains faster; the normal length returns once the load has been normal for a while.

An inference policy: the analysis round updates the mode from the AI status each minute, and
`jobs.submit` caps every new job's length with `cap()` (chat replies, previews, summaries). The
record carries a TTL, so a stopped collector cannot leave it on.
"""

from __future__ import annotations

from typing import Any

from webapp.bus import Bus, BusUnavailable
from webapp.inference.status import read_status

ECONOMY_KEY = "analysis:economy"
ECONOMY_MAX_TOKENS = 192
CALM_BEFORE_EXIT_S = 120  # online this long before the normal length returns
RECORD_TTL_S = 300


def state(bus: Bus) -> dict[str, Any] | None:
    """{"since", "max_tokens", "calm_since"} while economy mode is on, else None."""
    try:
        record = bus.get(ECONOMY_KEY)
    except BusUnavailable:
        return None
    return record if record and record.get("on") else None


def update(bus: Bus, now: float) -> dict[str, Any] | None:
    """Turn the mode on when the AI is overloaded, off after CALM_BEFORE_EXIT_S of calm."""
    ai = read_status(bus).get("state")
    record = state(bus)
    if ai == "overloaded":
        record = {
            "on": True,
            "since": (record or {}).get("since", now),
            "calm_since": None,
            "max_tokens": ECONOMY_MAX_TOKENS,
        }
    elif record is not None:
        calm_since = record.get("calm_since") or now
        if now - calm_since >= CALM_BEFORE_EXIT_S:
            bus.delete(ECONOMY_KEY)
            return None
        record = {**record, "calm_since": calm_since}
    else:
        return None
    bus.set(ECONOMY_KEY, record, ttl=RECORD_TTL_S)
    return record


def cap(bus: Bus, max_tokens: int) -> int:
    """The length a new job may have: shortened while economy mode is on."""
    record = state(bus)
    return min(max_tokens, int(record["max_tokens"])) if record else max_tokens
