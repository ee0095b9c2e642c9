"""Chat events on the bus: every device showing a dialog listens on the dialog's channel.

Per dialog, not per person: a person's sockets on their other dialogs (other tabs, devices left
open) never wake up for events they would only drop.

Events go out only once the transaction that caused them has committed: a device that reacts at
once by reading the message must find it in the database, and a rollback announces nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.db import on_commit


def dialog_channel(dialog_id: int) -> str:
    return f"chat:dialog:{dialog_id}"


def publish(session: Session, bus: Bus, dialog_id: int, kind: str, **data: Any) -> None:
    """kind: message (new or changed: render it), removed (take it off the page),
    reply (a reply was requested: follow its stream)."""
    # `change` names this one event: the person's devices in one process render it once.
    message = {"type": kind, "change": uuid.uuid4().hex, **data}
    on_commit(session, lambda: bus.publish(dialog_channel(dialog_id), message))
