"""What a person was typing, kept on the bus for a week: the chat page sends it every 10 s
while it changes (and with the maintenance acknowledgement), the page puts it back on load, and
sending the message clears it. An emergency stop loses at most the last seconds of typing."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.db import on_commit

TTL_S = 7 * 86_400
# What the composer takes (a long paste goes through; the message itself is cut to 1000 when
# sent, see service.clean_user_text). 3000 characters stay under the chat socket's frame limit
# even in four-byte characters.
MAX_CHARS = 3000


def _key(user_id: int, dialog_id: int) -> str:
    return f"draft:{user_id}:{dialog_id}"


def save(bus: Bus, user_id: int, dialog_id: int, text: str) -> None:
    text = text[:MAX_CHARS]
    if text.strip():
        bus.set(_key(user_id, dialog_id), {"text": text, "at": time.time()}, ttl=TTL_S)
    else:
        bus.delete(_key(user_id, dialog_id))


def load(bus: Bus, user_id: int, dialog_id: int) -> str:
    found = bus.get(_key(user_id, dialog_id))
    return found["text"] if found else ""


def clear_on_commit(session: Session, bus: Bus, user_id: int, dialog_id: int) -> None:
    """The message was sent: forget the draft once it is stored (after the commit, so a failed
    send keeps the draft, and no bus call runs inside the write transaction)."""
    on_commit(session, lambda: bus.delete(_key(user_id, dialog_id)))
