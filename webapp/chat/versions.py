"""A reply's versions (swipes): written again, each answer is kept; the one shown is the one the
model sees later. A reply with one version has no rows here (Message.swipes == 1)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from webapp.chat.errors import SwipeInvalid
from webapp.chat.models import Message, Status, Swipe


def _row(session: Session, message: Message, position: int) -> Swipe | None:
    return session.scalar(
        select(Swipe).where(Swipe.message_id == message.id, Swipe.position == position)
    )


def keep(session: Session, message: Message) -> None:
    """Store the message's text and status as the version it shows now."""
    row = _row(session, message, message.swipe)
    if row is None:
        row = Swipe(message_id=message.id, position=message.swipe, created_at=message.created_at)
        session.add(row)
    row.text, row.status = message.text, message.status


def begin(session: Session, message: Message) -> None:
    """Make room for a new version of a finished reply and show it (empty, to be written).
    A version with no text (a failed or stopped attempt) is written over instead of kept."""
    if not message.text.strip():
        return
    keep(session, message)  # the first time: the reply as it was becomes version 1
    message.swipe = message.swipes
    message.swipes += 1


def drop_empty(session: Session, message: Message) -> None:
    """A new version stopped before its first word leaves nothing to keep: it goes, and the
    version before it is shown again (and is what the model sees)."""
    if message.text.strip() or message.swipes < 2 or message.swipe != message.swipes - 1:
        return
    session.execute(
        delete(Swipe).where(Swipe.message_id == message.id, Swipe.position == message.swipe)
    )
    message.swipes -= 1
    previous = _row(session, message, message.swipes - 1)
    message.swipe = message.swipes - 1
    message.text, message.status = previous.text, previous.status
    if message.swipes == 1:  # one version: no rows
        session.execute(delete(Swipe).where(Swipe.message_id == message.id))


def show(session: Session, message: Message, position: int) -> None:
    """Show version `position` (0-based): its text becomes the reply's."""
    if message.status in (Status.PENDING, Status.STREAMING):
        raise SwipeInvalid()
    row = _row(session, message, position) if 0 <= position < message.swipes else None
    if row is None:
        raise SwipeInvalid()
    message.swipe, message.text, message.status = position, row.text, row.status


def texts(session: Session, message_ids: list[int]) -> dict[int, list[str]]:
    """Every version of these messages, in order (for an export)."""
    found: dict[int, list[str]] = {}
    if not message_ids:
        return found
    rows = session.execute(
        select(Swipe.message_id, Swipe.text)
        .where(Swipe.message_id.in_(message_ids))
        .order_by(Swipe.message_id, Swipe.position)
    )
    for message_id, text in rows:
        found.setdefault(message_id, []).append(text)
    return found
