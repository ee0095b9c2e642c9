"""Chat events on the bus: every device showing a dialog listens on the dialog's channel.

Per dialog, not per person: a person's sockets on their other dialogs (other tabs, devices left
open) never wake up for events they would only drop.

Events go out only once the transaction that caused them has committed: a device that reacts at
once by reading the message must find it in the database, and a rollback announces nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.chat.models import Message
from webapp.db import on_commit


def dialog_channel(dialog_id: int) -> str:
    return f"chat:dialog:{dialog_id}"


def publish(session: Session, bus: Bus, dialog_id: int, kind: str, **data: Any) -> None:
    """kind: message (new or changed: render it), removed (take it off the page)."""
    # `change` names this one event: the person's devices in one process render it once.
    message = {"type": kind, "change": uuid.uuid4().hex, **data}
    on_commit(session, lambda: bus.publish(dialog_channel(dialog_id), message))


def publish_new_message(session: Session, bus: Bus, message: Message) -> None:
    """A message just added, complete (nobody can have starred it yet): it travels whole, so the
    devices render it without reading it back."""
    carried = {
        "id": message.id,
        "role": str(message.role),
        "status": str(message.status),
        "text": message.text,
        "job_id": message.job_id,
        "created_at": message.created_at.isoformat(),
    }
    publish(session, bus, message.dialog_id, "message", message_id=message.id, message=carried)


@dataclass(frozen=True)
class MessageView:
    """A new message as its event carries it: what the message template reads."""

    id: int
    role: str
    status: str
    text: str
    job_id: str | None
    created_at: datetime
    # A message just added has one version, is not being continued and was never edited.
    swipe: int = 0
    swipes: int = 1
    continued: bool = False
    edited_at: datetime | None = None

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> MessageView:
        return cls(**{**data, "created_at": datetime.fromisoformat(data["created_at"])})
