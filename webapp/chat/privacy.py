"""A person's dialogs, messages and favourites, for their data export (accounts.privacy)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.characters.models import Character
from webapp.chat.models import Dialog, Favorite, Message


def export_dialogs(session: Session, user_id: int) -> list[dict]:
    """Every dialog with its messages, oldest first (three queries, whatever the count)."""
    dialogs = session.execute(
        select(Dialog, Character.name)
        .join(Character, Character.id == Dialog.character_id)
        .where(Dialog.user_id == user_id)
        .order_by(Dialog.created_at, Dialog.id)
    ).all()
    ids = [dialog.id for dialog, _ in dialogs]
    messages: dict[int, list[dict]] = {dialog_id: [] for dialog_id in ids}
    starred = set(session.scalars(select(Favorite.message_id).where(Favorite.user_id == user_id)))
    if ids:
        for message in session.scalars(
            select(Message).where(Message.dialog_id.in_(ids)).order_by(Message.id)
        ):
            messages[message.dialog_id].append(
                {
                    "id": message.id,
                    "from": "me" if message.role == "user" else "character",
                    "ai_generated": message.role != "user",
                    "text": message.text,
                    "status": message.status,
                    "at": message.created_at.isoformat(),
                    "favorite": message.id in starred,
                }
            )
    return [
        {
            "id": dialog.id,
            "character": name,
            "title": dialog.title,
            "started_at": dialog.created_at.isoformat(),
            "updated_at": dialog.updated_at.isoformat(),
            "summary": dialog.written_summary or dialog.summary or "",
            "messages": messages[dialog.id],
        }
        for dialog, name in dialogs
    ]
