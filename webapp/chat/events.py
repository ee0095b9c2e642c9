"""Chat events on the bus: every device of a person listens on their own channel.

Events go out only once the transaction that caused them has committed: a device that reacts at
once by reading the message must find it in the database, and a rollback announces nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.db import on_commit


def user_channel(user_id: int) -> str:
    return f"chat:user:{user_id}"


def publish(session: Session, bus: Bus, user_id: int, kind: str, **data: Any) -> None:
    """kind: message (new or changed: render it), removed (take it off the page),
    reply (a reply was requested: follow its stream)."""
    # `change` names this one event: the person's devices in one process render it once.
    message = {"type": kind, "change": uuid.uuid4().hex, **data}
    on_commit(session, lambda: bus.publish(user_channel(user_id), message))
