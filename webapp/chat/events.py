"""Chat events on the bus: every device of a person listens on their own channel."""

from __future__ import annotations

from typing import Any

from webapp.bus import Bus


def user_channel(user_id: int) -> str:
    return f"chat:user:{user_id}"


def publish(bus: Bus, user_id: int, kind: str, **data: Any) -> None:
    """kind: message (new or changed: render it), removed (take it off the page),
    reply (a reply was requested: follow its stream)."""
    bus.publish(user_channel(user_id), {"type": kind, **data})
