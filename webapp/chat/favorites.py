"""Starred messages: at most 50 per person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.characters.models import Character
from webapp.chat import events
from webapp.chat.errors import DialogNotFound, FavoritesFull
from webapp.chat.models import Dialog, Favorite, Message

FAVORITES_MAX = 50


def own_message(session: Session, user_id: int, message_id: int) -> Message:
    """A message in one of the person's dialogs; anything else does not exist."""
    row = session.execute(
        select(Message)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .where(Message.id == message_id, Dialog.user_id == user_id)
    ).scalar_one_or_none()
    if row is None:
        raise DialogNotFound()
    return row


def message_with_star(
    session: Session, user_id: int, message_id: int
) -> tuple[Message, bool] | None:
    """A message and whether this person starred it, in one query (a chat socket renders a
    message on every change of it)."""
    row = session.execute(
        select(Message, Favorite.id)
        .outerjoin(Favorite, and_(Favorite.message_id == Message.id, Favorite.user_id == user_id))
        .where(Message.id == message_id)
    ).first()
    return None if row is None else (row[0], row[1] is not None)


def starred_ids(session: Session, user_id: int, message_ids: list[int]) -> set[int]:
    if not message_ids:
        return set()
    return set(
        session.scalars(
            select(Favorite.message_id).where(
                Favorite.user_id == user_id, Favorite.message_id.in_(message_ids)
            )
        )
    )


def set_favorite(
    session: Session, bus: Bus, user_id: int, message: Message, on: bool, now: datetime
) -> None:
    """Star or unstar; the 51st star raises FavoritesFull."""
    existing = session.scalar(
        select(Favorite).where(Favorite.user_id == user_id, Favorite.message_id == message.id)
    )
    if on and existing is None:
        count = session.scalar(select(func.count()).where(Favorite.user_id == user_id)) or 0
        if count >= FAVORITES_MAX:
            raise FavoritesFull()
        session.add(Favorite(user_id=user_id, message_id=message.id, created_at=now))
    elif not on and existing is not None:
        session.execute(delete(Favorite).where(Favorite.id == existing.id))
    else:
        return
    session.flush()
    events.publish(session, bus, message.dialog_id, "message", message_id=message.id)


def list_favorites(session: Session, user_id: int):
    """(favorite, message, character name) newest first, in one query."""
    return session.execute(
        select(Favorite, Message, Character.name)
        .join(Message, Message.id == Favorite.message_id)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .join(Character, Character.id == Dialog.character_id)
        .where(Favorite.user_id == user_id)
        .order_by(Character.name, Favorite.created_at.desc())
    ).all()
