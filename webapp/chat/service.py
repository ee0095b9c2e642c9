"""Dialogs and messages: plain functions over a session, shared by pages, the socket and jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.characters import macros
from webapp.characters.models import Character
from webapp.chat import events, personas
from webapp.chat.errors import DialogNotFound, MessageEmpty, TitleInvalid
from webapp.chat.models import OPEN_REPLY, Dialog, Message, Role, Status, Swipe
from webapp.inference.relay import CUT_MARK  # the stream is cut where the stored reply is

USER_MESSAGE_MAX = 1000
USER_MESSAGE_TAIL = 100  # a longer message keeps its end: the question usually comes last
REPLY_MAX = 2000
HISTORY_PAGE = 50
TITLE_MAX = 120
TITLE_WORDS = 6


def openings(character: Character, user_name: str = "", seed: int = 0) -> list[str]:
    """The greetings a dialog can begin with (the main one first), macros filled for the person
    (`seed`: the dialog, for macros that stay put in it)."""
    texts = [character.greeting, *(character.alternate_greetings or [])]
    return [
        macros.expand(
            text, char=character.nickname or character.name, user=user_name or "{{user}}", seed=seed
        )
        for text in texts
        if text
    ]


def start_dialog(
    session: Session,
    user_id: int,
    character: Character,
    now: datetime,
    user_name: str = "",
    opening: int = 0,
) -> Dialog:
    """A fresh dialog with the person's default persona; the chosen greeting (`opening`: 0 the
    main one, then the card's others), if there is one, is its first message, its macros filled
    for this person, the others its versions (swipes)."""
    persona = personas.default_of(session, user_id)
    dialog = Dialog(
        user_id=user_id,
        character_id=character.id,
        character_version=character.version,
        persona_id=persona.id if persona else None,
        created_at=now,
        updated_at=now,
    )
    session.add(dialog)
    session.flush()
    greetings = openings(character, persona.name if persona else user_name, seed=dialog.id)
    if greetings:
        chosen = opening if 0 <= opening < len(greetings) else 0
        first = add_message(session, dialog, Role.ASSISTANT, greetings[chosen], Status.DONE, now)
        if len(greetings) > 1:  # the card's other greetings are the first message's versions
            first.swipes, first.swipe = len(greetings), chosen
            for position, text in enumerate(greetings):
                session.add(
                    Swipe(
                        message_id=first.id,
                        position=position,
                        text=text,
                        status=Status.DONE,
                        created_at=now,
                    )
                )
    return dialog


def get_dialog(session: Session, user_id: int, dialog_id: int) -> Dialog:
    """The person's own dialog; anyone else's does not exist (DialogNotFound)."""
    dialog = session.get(Dialog, dialog_id)
    if dialog is None or dialog.user_id != user_id:
        raise DialogNotFound()
    return dialog


def list_dialogs(session: Session, user_id: int, character_id: int) -> list[Dialog]:
    return list(
        session.scalars(
            select(Dialog)
            .where(Dialog.user_id == user_id, Dialog.character_id == character_id)
            .order_by(Dialog.updated_at.desc(), Dialog.id.desc())
        )
    )


def rename_dialog(dialog: Dialog, title: str) -> None:
    title = " ".join(title.split())
    if not 1 <= len(title) <= TITLE_MAX:
        raise TitleInvalid()
    dialog.title = title


def delete_dialog(session: Session, dialog: Dialog) -> None:
    session.execute(delete(Dialog).where(Dialog.id == dialog.id))


def history(
    session: Session, dialog_id: int, *, before_id: int | None = None, limit: int = HISTORY_PAGE
) -> tuple[list[Message], bool]:
    """Up to `limit` messages before `before_id` (keyset), oldest first, and whether more exist."""
    statement = select(Message).where(Message.dialog_id == dialog_id)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    rows = list(session.scalars(statement.order_by(Message.id.desc()).limit(limit + 1)))
    return list(reversed(rows[:limit])), len(rows) > limit


def messages_after(session: Session, dialog_id: int, after_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.dialog_id == dialog_id, Message.id > after_id)
            .order_by(Message.id)
            .limit(HISTORY_PAGE)
        )
    )


def clean_user_text(text: str) -> tuple[str, bool]:
    """The message as stored: trimmed, at most 1000 characters; and whether it was cut. A longer
    one keeps its first 900 and its last 100 characters (the specification's rule)."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise MessageEmpty()
    if len(text) > USER_MESSAGE_MAX:
        head = USER_MESSAGE_MAX - USER_MESSAGE_TAIL
        return text[:head] + text[-USER_MESSAGE_TAIL:], True
    return text, False


def clean_reply(text: str, limit: int = REPLY_MAX) -> str:
    """An AI reply longer than the limit is cut so that, with " [...]", it fits exactly."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - len(CUT_MARK)].rstrip() + CUT_MARK


def add_user_message(
    session: Session, bus: Bus, dialog: Dialog, text: str, client_id: str | None, now: datetime
) -> tuple[Message, bool, bool]:
    """Store a message from the person: (message, newly stored, cut to 1000).

    A resend with the same client_id (after a reconnect) returns the stored message instead of
    a second copy.
    """
    text, cut = clean_user_text(text)
    client_id = (client_id or "")[:40] or None
    if client_id:
        existing = session.scalar(
            select(Message).where(Message.dialog_id == dialog.id, Message.client_id == client_id)
        )
        if existing is not None:
            return existing, False, cut
    message = add_message(
        session, dialog, Role.USER, text, Status.DELIVERED, now, client_id=client_id
    )
    if not dialog.title:
        dialog.title = " ".join(text.split()[:TITLE_WORDS])[:TITLE_MAX]
    events.publish_new_message(session, bus, message)
    return message, True, cut


def add_message(
    session: Session,
    dialog: Dialog,
    role: Role,
    text: str,
    status: Status,
    now: datetime,
    **fields,
) -> Message:
    """Append a message to a dialog and keep the dialog's count and activity time in step."""
    message = Message(
        dialog_id=dialog.id, role=role, text=text, status=status, created_at=now, **fields
    )
    session.add(message)
    dialog.message_count = (dialog.message_count or 0) + 1
    dialog.updated_at = now
    session.flush()
    return message


def open_replies(session: Session, dialog_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.dialog_id == dialog_id,
                Message.role == Role.ASSISTANT,
                Message.status.in_(OPEN_REPLY),
            )
            .order_by(Message.id)
        )
    )


def mark_seen(session: Session, dialog: Dialog, upto_id: int, now: datetime) -> list[int]:
    """The person's screen showed the character's messages up to `upto_id`."""
    ids = list(
        session.scalars(
            select(Message.id).where(
                Message.dialog_id == dialog.id,
                Message.role == Role.ASSISTANT,
                Message.id <= upto_id,
                Message.read_at.is_(None),
                Message.status == Status.DONE,
            )
        )
    )
    if ids:
        session.execute(update(Message).where(Message.id.in_(ids)).values(read_at=now))
    return ids
