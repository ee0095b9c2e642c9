"""A person's dialogs, messages (with every version of a reply), favourites and personas, for
their data export (accounts.privacy)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.characters import avatars
from webapp.characters.models import Character
from webapp.chat import versions
from webapp.chat.models import Dialog, Favorite, Message
from webapp.chat.personas import erase_pictures, list_personas
from webapp.extensions import get_settings


def export_dialogs(session: Session, user_id: int) -> list[dict]:
    """Every dialog with its messages, oldest first (five queries, whatever the count)."""
    dialogs = session.execute(
        select(Dialog, Character.name)
        .join(Character, Character.id == Dialog.character_id)
        .where(Dialog.user_id == user_id)
        .order_by(Dialog.created_at, Dialog.id)
    ).all()
    ids = [dialog.id for dialog, _ in dialogs]
    messages: dict[int, list[dict]] = {dialog_id: [] for dialog_id in ids}
    starred = set(session.scalars(select(Favorite.message_id).where(Favorite.user_id == user_id)))
    rows = (
        list(
            session.scalars(select(Message).where(Message.dialog_id.in_(ids)).order_by(Message.id))
        )
        if ids
        else []
    )
    kept = versions.texts(session, [message.id for message in rows if message.swipes > 1])
    personas = {persona.id: persona.name for persona in list_personas(session, user_id)}
    if rows:
        for message in rows:
            messages[message.dialog_id].append(
                {
                    "id": message.id,
                    "from": "me" if message.role == "user" else "character",
                    "ai_generated": message.role != "user",
                    "text": message.text,
                    "status": message.status,
                    "at": message.created_at.isoformat(),
                    "favorite": message.id in starred,
                    "edited_at": message.edited_at.isoformat() if message.edited_at else None,
                    "versions": kept.get(message.id, []),
                }
            )
    return [
        {
            "id": dialog.id,
            "character": name,
            "title": dialog.title,
            "started_at": dialog.created_at.isoformat(),
            "updated_at": dialog.updated_at.isoformat(),
            "persona": personas.get(dialog.persona_id),
            "summary": dialog.written_summary or dialog.summary or "",
            "messages": messages[dialog.id],
        }
        for dialog, name in dialogs
    ]


def export_personas(session: Session, user_id: int) -> list[dict]:
    return [
        {"name": p.name, "description": p.description, "default": p.is_default}
        for p in list_personas(session, user_id)
    ]


def erase_personas(session: Session, user_id: int) -> None:
    """The account goes: its personas go with it (ON DELETE CASCADE), their pictures here."""
    directory = avatars.directory(get_settings().instance_path)
    erase_pictures(session, user_id, directory)
