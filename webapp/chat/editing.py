"""What a person does to the messages of their dialog: another version of the last reply (a
swipe), a continuation, an edit, a deletion, a new dialog from a message (a branch). Every change
is announced on the dialog's channel, so the person's other devices follow it live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.characters.models import Character
from webapp.chat import events, replies, service, versions
from webapp.chat.errors import EditInvalid, NotLastReply, ReplyFull, ReplyOpen
from webapp.chat.models import OPEN_REPLY, Dialog, Message, Role, Status
from webapp.inference import jobs

BRANCH_SUFFIX = " (ветка)"
CONTINUE_ROOM = 40  # a reply this close to its limit cannot usefully be continued


@dataclass(frozen=True)
class Asker:
    """Who asks for a reply, as request_reply needs it."""

    user_name: str
    now: datetime


def retry(session: Session, bus: Bus, dialog: Dialog, asker: Asker) -> Message:
    """«Повторить»: the last reply written again, or, when the dialog ends with the person's
    message (its reply was never asked for: the AI was paused), its reply asked for."""
    last_id = _last_message_id(session, dialog)
    last = session.get(Message, last_id) if last_id else None
    if last is not None and last.role == Role.ASSISTANT:
        return regenerate(session, bus, dialog, last, asker)
    return _ask(session, bus, dialog, asker)


def _last_message_id(session: Session, dialog: Dialog) -> int | None:
    return session.scalar(select(func.max(Message.id)).where(Message.dialog_id == dialog.id))


def _locked(session: Session, message: Message) -> Message:
    """The message read again under a row lock (MariaDB): two devices changing one message at
    once go one after the other, the second seeing what the first did."""
    return session.scalars(
        select(Message)
        .where(Message.id == message.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _last_reply(session: Session, dialog: Dialog, message: Message) -> None:
    """Only the dialog's last message, a finished reply, may be written again or continued."""
    _locked(session, message)
    if message.role != Role.ASSISTANT or _last_message_id(session, dialog) != message.id:
        raise NotLastReply()
    if message.status in OPEN_REPLY:
        raise ReplyOpen()


def _ask(
    session: Session, bus: Bus, dialog: Dialog, asker: Asker, into: Message | None = None
) -> Message:
    """A reply asked for (into `into`, when given) through the fair queue."""
    character = session.get(Character, dialog.character_id)
    return replies.request_reply(
        session, bus, dialog, character, user_name=asker.user_name, now=asker.now, into=into
    )


def regenerate(
    session: Session, bus: Bus, dialog: Dialog, message: Message, asker: Asker
) -> Message:
    """Another version of the last reply; the one shown now is kept as a swipe («Повторить» on
    a failed or stopped reply is the same: an empty attempt is written over, not kept)."""
    _last_reply(session, dialog, message)
    versions.begin(session, message)
    message.text, message.continued = "", False
    return _ask(session, bus, dialog, asker, into=message)


def continue_reply(
    session: Session, bus: Bus, dialog: Dialog, message: Message, asker: Asker
) -> Message:
    """The model goes on with the last reply from where it ends."""
    _last_reply(session, dialog, message)
    if not message.text.strip():
        return regenerate(session, bus, dialog, message, asker)
    max_length = session.scalar(
        select(Character.max_length).where(Character.id == dialog.character_id)
    )
    if len(message.text) >= min(max_length, service.REPLY_MAX) - CONTINUE_ROOM:
        raise ReplyFull()
    message.continued = True
    return _ask(session, bus, dialog, asker, into=message)


def show_version(session: Session, bus: Bus, message: Message, position: int) -> None:
    _locked(session, message)
    versions.show(session, message, position)
    events.publish(session, bus, message.dialog_id, "message", message_id=message.id)


def edit(
    session: Session, bus: Bus, dialog: Dialog, message: Message, text: str, asker: Asker
) -> None:
    """Change a message's text. The person's own message: the character's answer to it, when
    that is the last message, is written again (the old answer kept as a swipe); the last
    message itself gets its answer. A reply of the character: corrected in place."""
    _locked(session, message)
    if message.status in OPEN_REPLY:
        raise ReplyOpen()
    limit = service.USER_MESSAGE_MAX if message.role == Role.USER else service.REPLY_MAX
    text = text.replace("\r\n", "\n").strip()
    if not 1 <= len(text) <= limit:
        raise EditInvalid(limit)
    if text == message.text:
        return
    message.text, message.edited_at = text, asker.now
    if message.role == Role.ASSISTANT:
        message.status = Status.DONE  # corrected by hand: a reply like any other now
        if message.swipes > 1:
            versions.keep(session, message)
    _forget_summaries_from(dialog, message.id)
    events.publish(session, bus, dialog.id, "message", message_id=message.id)
    if message.role != Role.USER:
        return
    last = session.get(Message, _last_message_id(session, dialog))
    if last.id == message.id:
        _ask(session, bus, dialog, asker)
    elif (
        last.role == Role.ASSISTANT
        and last.status not in OPEN_REPLY
        and _follows(session, message, last)
    ):
        regenerate(session, bus, dialog, last, asker)


def count_after(session: Session, message: Message) -> int:
    return session.scalar(
        select(func.count()).where(Message.dialog_id == message.dialog_id, Message.id > message.id)
    )


def _follows(session: Session, message: Message, reply: Message) -> bool:
    """`reply` is the message right after `message`."""
    after = session.scalar(
        select(func.min(Message.id)).where(
            Message.dialog_id == message.dialog_id, Message.id > message.id
        )
    )
    return after == reply.id


def delete_messages(
    session: Session, bus: Bus, dialog: Dialog, message: Message, *, following: bool
) -> int:
    """Delete a message, or it and everything after it; replies being written are stopped.
    A reported message stays with its report for the moderators (it holds the text)."""
    statement = select(Message).where(Message.dialog_id == dialog.id)
    if following:
        statement = statement.where(Message.id >= message.id)
    else:
        statement = statement.where(Message.id == message.id)
    doomed = list(session.scalars(statement))
    for row in doomed:
        if row.status in OPEN_REPLY and row.job_id:
            jobs.cancel(session, bus, row.job_id)  # a node writing it stops; its text has no home
    ids = [row.id for row in doomed]
    session.execute(delete(Message).where(Message.id.in_(ids)))
    dialog.message_count = max((dialog.message_count or 0) - len(ids), 0)
    _forget_summaries_from(dialog, min(ids))
    for message_id in ids:
        events.publish(session, bus, dialog.id, "removed", message_id=message_id)
    return len(ids)


def _forget_summaries_from(dialog: Dialog, message_id: int) -> None:
    """Summaries that read a message now changed or gone are written again when next due."""
    if dialog.written_upto_id is not None and message_id <= dialog.written_upto_id:
        dialog.written_summary = dialog.written_upto_id = None
    if dialog.summary_upto_id is not None and message_id <= dialog.summary_upto_id:
        dialog.summary = dialog.summary_upto_id = None


def branch(session: Session, dialog: Dialog, message: Message, now: datetime) -> Dialog:
    """A new dialog with the same character that shares this one's history up to `message`
    (the versions shown; replies still being written are left out)."""
    title = (dialog.title or "")[: service.TITLE_MAX - len(BRANCH_SUFFIX)] + BRANCH_SUFFIX
    copy = Dialog(
        user_id=dialog.user_id,
        character_id=dialog.character_id,
        character_version=dialog.character_version,
        title=title.strip(),
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    session.flush()
    rows = session.execute(
        select(Message.role, Message.text, Message.status, Message.created_at)
        .where(
            Message.dialog_id == dialog.id,
            Message.id <= message.id,
            Message.status.not_in(OPEN_REPLY),
        )
        .order_by(Message.id)
    ).all()
    if rows:
        session.execute(
            insert(Message),
            [
                {
                    "dialog_id": copy.id,
                    "role": row.role,
                    "text": row.text,
                    "status": row.status,
                    "created_at": row.created_at,
                }
                for row in rows
            ],
        )
    copy.message_count = len(rows)
    return copy
