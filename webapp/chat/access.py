"""Who may chat. Ownership of dialogs and messages is checked in the service (404 otherwise)."""

from __future__ import annotations

from typing import Any

from limits import parse

from webapp.extensions import limiter

SEND_LIMIT = parse("20/minute")


def may_chat(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def may_send_now(user_id: int) -> bool:
    """20 messages a minute per person, counted the same for the socket and the plain form."""
    return not limiter.enabled or limiter.limiter.hit(SEND_LIMIT, "chat-send", str(user_id))
