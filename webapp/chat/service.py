"""Dialogs and messages: plain functions over a session, shared by pages, the socket and jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.characters.filters import mask
from webapp.characters.models import Character
from webapp.chat import events
from webapp.chat.context import Turn, build_prompt
from webapp.chat.errors import DialogNotFound, MessageEmpty, TitleInvalid
from webapp.chat.models import OPEN_REPLY, Dialog, Message, Role, Status
from webapp.db import on_commit
from webapp.inference import jobs
from webapp.inference.queue import Priority

USER_MESSAGE_MAX = 1000
REPLY_MAX = 2000
CUT_MARK = " [...]"
HISTORY_PAGE = 50
TITLE_MAX = 120
TITLE_WORDS = 6
REPLY_MAX_TOKENS = 768  # ~2000 characters of Russian text
CONTEXT_FETCH = 200  # newest messages read to build a prompt; compression keeps at most 20


def start_dialog(session: Session, user_id: int, character: Character, now: datetime) -> Dialog:
    """A fresh dialog; the character's greeting, if any, is its first message."""
    dialog = Dialog(
        user_id=user_id,
        character_id=character.id,
        character_version=character.version,
        created_at=now,
        updated_at=now,
    )
    session.add(dialog)
    session.flush()
    if character.greeting:
        _add(session, dialog, Role.ASSISTANT, character.greeting, Status.DONE, now)
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
    """The message as stored: trimmed, at most 1000 characters; and whether it was cut."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise MessageEmpty()
    if len(text) > USER_MESSAGE_MAX:
        return text[:USER_MESSAGE_MAX], True
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
    message = _add(session, dialog, Role.USER, text, Status.DELIVERED, now, client_id=client_id)
    if not dialog.title:
        dialog.title = " ".join(text.split()[:TITLE_WORDS])[:TITLE_MAX]
    events.publish(
        session, bus, dialog.user_id, "message", dialog_id=dialog.id, message_id=message.id
    )
    return message, True, cut


def _add(
    session: Session,
    dialog: Dialog,
    role: Role,
    text: str,
    status: Status,
    now: datetime,
    **fields,
) -> Message:
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


def request_reply(
    session: Session,
    bus: Bus,
    dialog: Dialog,
    character: Character,
    *,
    user_name: str,
    now: datetime,
    priority: Priority = Priority.USER,
) -> Message:
    """Make sure an answer to the latest messages is on its way.

    A reply still waiting in the queue is replaced by one that sees the new message too (the
    person wrote again before it started); one already streaming keeps going and the new one
    waits behind it.
    """
    replies = open_replies(session, dialog.id)
    waiting = next((m for m in replies if m.status == Status.PENDING), None)
    if waiting is not None:
        job_to_cancel = waiting.job_id
        on_commit(session, lambda: jobs.cancel(bus, job_to_cancel))
        session.execute(delete(Message).where(Message.id == waiting.id))
        dialog.message_count -= 1
        events.publish(
            session, bus, dialog.user_id, "removed", dialog_id=dialog.id, message_id=waiting.id
        )
    reply = _add(session, dialog, Role.ASSISTANT, "", Status.PENDING, now)
    events.publish(
        session, bus, dialog.user_id, "message", dialog_id=dialog.id, message_id=reply.id
    )
    prompt = _prompt(session, dialog, character, user_name, before_id=reply.id)
    reply.job_id = job_id = uuid.uuid4().hex
    submission = {
        "user_id": dialog.user_id,
        "kind": "chat_reply",
        "priority": priority,
        "messages": prompt,
        "max_tokens": min(REPLY_MAX_TOKENS, character.max_length // 2 + 16),
        "temperature": character.temperature,
        "meta": {
            "message_id": reply.id,
            "dialog_id": dialog.id,
            "user_id": dialog.user_id,
            "max_length": character.max_length,
            "filters": list(character.filters or []),
        },
    }
    on_commit(session, lambda: jobs.submit(bus, job_id=job_id, **submission))
    events.publish(
        session,
        bus,
        dialog.user_id,
        "reply",
        dialog_id=dialog.id,
        message_id=reply.id,
        job_id=reply.job_id,
    )
    return reply


def _prompt(session, dialog, character, user_name, *, before_id):
    rows = session.execute(
        select(Message.id, Message.role, Message.text)
        .where(
            Message.dialog_id == dialog.id,
            Message.id < before_id,
            Message.text != "",
            Message.status.not_in((Status.ERROR,)),
        )
        .order_by(Message.id.desc())
        .limit(CONTEXT_FETCH)
    ).all()
    turns = [Turn(row.id, row.role, row.text) for row in reversed(rows)]
    examples = [(example["user"], example["reply"]) for example in character.examples or []]
    card = character_card_prompt(character)
    messages, compressed = build_prompt(
        character.system_prompt + card.before,
        examples,
        turns,
        character_name=character.name,
        user_name=user_name,
    )
    if card.after:
        messages.append({"role": "system", "content": card.after})
    if compressed.summary:
        dialog.summary = compressed.summary
        dialog.summary_upto_id = compressed.summarised_upto
    return messages


@dataclass(frozen=True)
class CardPrompt:
    before: str  # appended to the system prompt
    after: str  # a system message after the history (post_history_instructions)


def character_card_prompt(character: Character) -> CardPrompt:
    """What an imported card adds for the model: personality and scenario up front, its
    post-history instructions at the end. Creator notes are for people and never sent."""
    data = ((character.card or {}).get("card") or {}).get("data") or {}
    parts = []
    for key, label in (("personality", "Характер"), ("scenario", "Сценарий")):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(f"{label}: {value.strip()}")
    after = data.get("post_history_instructions")
    after = after.replace("{{original}}", "").strip() if isinstance(after, str) else ""
    return CardPrompt("\n\n" + "\n".join(parts) if parts else "", after)


def reply_started(session: Session, bus: Bus, message_id: int, job_id: str) -> None:
    """The character began answering: the reply streams, the person's messages count as read."""
    reply = session.get(Message, message_id)
    if reply is None or reply.job_id != job_id or reply.status != Status.PENDING:
        return
    reply.status = Status.STREAMING
    read = _mark_read(session, reply)
    user_id = session.get(Dialog, reply.dialog_id).user_id
    for changed in [*read, reply.id]:
        events.publish(
            session, bus, user_id, "message", dialog_id=reply.dialog_id, message_id=changed
        )


def _mark_read(session: Session, reply: Message) -> list[int]:
    ids = list(
        session.scalars(
            select(Message.id).where(
                Message.dialog_id == reply.dialog_id,
                Message.role == Role.USER,
                Message.id < reply.id,
                Message.status == Status.DELIVERED,
            )
        )
    )
    if ids:
        session.execute(update(Message).where(Message.id.in_(ids)).values(status=Status.READ))
    return ids


def finish_reply(
    session: Session,
    bus: Bus,
    message_id: int,
    job_id: str,
    text: str,
    now: datetime,
    limit: int = REPLY_MAX,
    filters: list[str] | None = None,
) -> Message | None:
    """Store the finished answer: content filters applied, cut to the character's limit."""
    reply = session.get(Message, message_id)
    if reply is None or reply.job_id != job_id:
        return None
    reply.text = clean_reply(mask(text, filters or []), min(limit, REPLY_MAX))
    reply.status = Status.DONE
    reply.created_at = now
    dialog = session.get(Dialog, reply.dialog_id)
    dialog.updated_at = now
    events.publish(
        session, bus, dialog.user_id, "message", dialog_id=dialog.id, message_id=reply.id
    )
    return reply


def end_reply(
    session: Session,
    bus: Bus,
    message_id: int,
    job_id: str,
    partial: str,
    *,
    cancelled: bool,
    filters: list[str] | None = None,
) -> None:
    """The reply stopped (the person pressed stop) or failed: keep whatever was written."""
    reply = session.get(Message, message_id)
    if reply is None or reply.job_id != job_id or reply.status not in OPEN_REPLY:
        return
    reply.text = clean_reply(mask(partial, filters or []))
    reply.status = Status.CANCELLED if cancelled else Status.ERROR
    dialog = session.get(Dialog, reply.dialog_id)
    events.publish(
        session, bus, dialog.user_id, "message", dialog_id=dialog.id, message_id=reply.id
    )


def stop_reply(session: Session, bus: Bus, dialog: Dialog) -> bool:
    """Stop every open reply of the dialog; the GPU is freed at once."""
    replies = open_replies(session, dialog.id)
    for job_id in [reply.job_id for reply in replies]:
        jobs.cancel(bus, job_id)  # nothing to commit: the dispatcher stores the outcome
    return bool(replies)


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


def resume_open_replies(session: Session, bus: Bus, now: datetime) -> int:
    """After a restart of the web side: every reply that was queued or streaming is asked for
    again (its job lived in the stopped process). Returns how many dialogs were resumed."""
    from webapp.accounts.models import User

    rows = session.execute(
        select(Message, Dialog, Character, User.display_name)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .join(Character, Character.id == Dialog.character_id)
        .join(User, User.id == Dialog.user_id)
        .where(Message.role == Role.ASSISTANT, Message.status.in_(OPEN_REPLY))
        .order_by(Message.id)
    ).all()
    resumed: set[int] = set()
    for message, dialog, character, user_name in rows:
        message.status = Status.PENDING  # request_reply replaces a pending reply in place
        message.text = ""
        if dialog.id not in resumed:
            resumed.add(dialog.id)
            request_reply(session, bus, dialog, character, user_name=user_name, now=now)
    return len(resumed)
