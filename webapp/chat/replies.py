"""The life of a character's reply: asked for, started, streamed, finished or ended, and asked
for again after a restart. The dispatcher's chat job handler (chat.jobs) calls into here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.characters import lorebook
from webapp.characters.filters import mask
from webapp.characters.models import Character
from webapp.characters.story import Definition
from webapp.chat import events, personas, summaries, versions
from webapp.chat.context import Turn, build_prompt
from webapp.chat.errors import AiPaused
from webapp.chat.models import OPEN_REPLY, Dialog, Message, Role, Status
from webapp.chat.service import REPLY_MAX, add_message, clean_reply, open_replies
from webapp.inference import jobs, queue
from webapp.inference.models import InferenceJob
from webapp.inference.queue import Priority
from webapp.inference.status import read_status
from webapp.maintenance.flag import ai_paused

REPLY_MAX_TOKENS = 768  # ~2000 characters of Russian text
CONTEXT_FETCH = 200  # newest messages read to build a prompt; compression keeps at most 20
# What a continuation asks for, after the reply so far (SillyTavern's "continue nudge").
CONTINUE_NUDGE = (
    "[Продолжи свой последний ответ с того места, где он оборвался, не повторяя уже написанного.]"
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
    into: Message | None = None,
) -> Message:
    """Make sure an answer to the latest messages is on its way.

    A reply still waiting in the queue is replaced by one that sees the new message too (the
    person wrote again before it started); one already streaming keeps going and the new one
    waits behind it. `into`: the reply is written into this message instead (a new version of
    it, or its continuation when it is marked `continued`; the caller has set it up).
    """
    paused_until = ai_paused(bus)
    if paused_until is not None:
        raise AiPaused(
            _(
                "Сообщение сохранено, но ответы персонажей приостановлены на техническое "
                "обслуживание до %(t)s. Нажмите «Повторить», когда работы закончатся.",
                t=format_datetime(paused_until, "HH:mm"),
            )
        )
    job_id = uuid.uuid4().hex
    if into is None:
        _replace_waiting(session, bus, dialog)
        reply = add_message(session, dialog, Role.ASSISTANT, "", Status.PENDING, now, job_id=job_id)
        # With its job id: the devices follow the reply's stream from this event.
        events.publish_new_message(session, bus, reply)
    else:
        reply = into
        reply.job_id, reply.status = job_id, Status.PENDING
        dialog.updated_at = now
        events.publish(session, bus, dialog.id, "message", message_id=reply.id)
    # A continuation sees the reply so far as the last turn, then the nudge to go on.
    before_id = reply.id + 1 if reply.continued else reply.id
    prompt = reply_prompt(session, bus, dialog, character, user_name, before_id=before_id)
    if reply.continued:
        prompt.append({"role": "system", "content": CONTINUE_NUDGE})
    submission = {
        "user_id": dialog.user_id,
        "kind": "chat_reply",
        "priority": priority,
        "messages": prompt,
        **generation_parameters(character),
        "meta": {
            "message_id": reply.id,
            "dialog_id": dialog.id,
            "user_id": dialog.user_id,
            "max_length": character.max_length,
            "filters": list(character.filters or []),
        },
    }
    # No `now` here: a job's place in line is the moment its transaction writes (`now` was
    # taken before that transaction got its turn, and concurrent sends would swap places).
    jobs.submit(
        session,
        bus,
        job_id=job_id,
        max_chars=min(character.max_length, REPLY_MAX),
        **submission,
    )
    return reply


def _replace_waiting(session: Session, bus: Bus, dialog: Dialog) -> None:
    """The reply still waiting in the queue goes: the new one sees the new message too. One that
    holds versions of its own (swipes, a continuation) is ended instead, keeping them."""
    waiting = next(
        (m for m in open_replies(session, dialog.id) if m.status == Status.PENDING), None
    )
    # Claimed by a node meanwhile: it streams on, and the new reply waits behind it.
    if waiting is None or jobs.cancel(session, bus, waiting.job_id) == queue.RUNNING:
        return
    if waiting.swipes > 1 or waiting.continued:
        end_reply(session, bus, waiting.id, waiting.job_id, "", cancelled=True)
        return
    session.execute(delete(Message).where(Message.id == waiting.id))
    dialog.message_count -= 1
    events.publish(session, bus, dialog.id, "removed", message_id=waiting.id)


def generation_parameters(character: Character | Any) -> dict:
    """How long and how free a reply of this character (or of a manager's draft of one: anything
    with max_length and temperature) may be, before economy mode."""
    return {
        "max_tokens": min(REPLY_MAX_TOKENS, character.max_length // 2 + 16),
        "temperature": character.temperature,
    }


def reply_prompt(session, bus, dialog, character, user_name, *, before_id):
    """What the model gets for the reply `before_id`: system prompt and card, examples, and the
    dialog up to it, compressed (asking for a written summary when one is due)."""
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
    definition = Definition.of(character)
    who = personas.speaker(session, dialog, user_name)
    user_name = who.name
    messages, compressed = build_prompt(
        definition,
        turns,
        user_name=user_name,
        persona=who.description,
        written=summaries.written_of(dialog),
        max_chars=history_chars(bus, character, definition),
        seed=dialog.id,
        turn_count=dialog.message_count,
    )
    if compressed.summary:
        dialog.summary = compressed.summary
        dialog.summary_upto_id = compressed.summarised_upto
    if summaries.wanted(compressed.unwritten):
        summaries.request(session, bus, dialog, character, user_name, compressed.unwritten)
    return messages


CHARS_PER_TOKEN = 2.0  # a cautious guess for Russian text: most vocabularies do better
SUMMARY_RESERVE = 600  # characters kept for the summary of what is left out


def history_chars(bus, character, definition: Definition) -> int | None:
    """How much history text fits the linked nodes' context beside the rest of the prompt and
    the reply, in characters (None while no node has said). What does not fit goes to the
    summary here; the node's own fit (with the real tokenizer) only trims what this guess
    got wrong."""
    context = read_status(bus).get("context_size")
    if not context:
        return None
    reply = generation_parameters(character)["max_tokens"]
    fixed = definition.fixed_size() + lorebook.reserve(definition.book)
    return max(int((context - reply) * CHARS_PER_TOKEN) - fixed - SUMMARY_RESERVE, 0)


def reply_started(session: Session, bus: Bus, message_id: int, job_id: str) -> None:
    """The character began answering: the reply streams, the person's messages count as read."""
    reply = session.get(Message, message_id)
    if reply is None or reply.job_id != job_id or reply.status != Status.PENDING:
        return
    reply.status = Status.STREAMING
    read = _mark_read(session, reply)
    # The reply itself looks the same pending or streaming ("печатает…"): only the person's
    # messages that turned read are shown again.
    for changed in read:
        events.publish(session, bus, reply.dialog_id, "message", message_id=changed)


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
    reply.text = clean_reply(_joined(reply, mask(text, filters or [])), min(limit, REPLY_MAX))
    reply.status = Status.DONE
    reply.created_at = now
    _settle(session, reply)
    dialog = session.get(Dialog, reply.dialog_id)
    dialog.updated_at = now
    events.publish(session, bus, dialog.id, "message", message_id=reply.id)
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
    reply.text = clean_reply(_joined(reply, mask(partial, filters or [])))
    if reply.text and reply.status == Status.PENDING and reply.continued:
        reply.status = Status.DONE  # a continuation that never began: the reply as it was
    else:
        reply.status = Status.CANCELLED if cancelled else Status.ERROR
    _settle(session, reply)
    if cancelled:  # stopped (or replaced) before a word: the version before it again
        versions.drop_empty(session, reply)
    events.publish(session, bus, reply.dialog_id, "message", message_id=reply.id)


def _joined(reply: Message, text: str) -> str:
    """A continuation's text follows the reply so far (a space between, unless the new text
    starts with punctuation or a space of its own); any other reply is its text."""
    if not reply.continued:
        return text
    kept = reply.text.rstrip()
    if not text.strip():
        return kept
    glue = "" if text[0].isspace() or text[0] in ".,!?;:…)»" else " "
    return kept + glue + text.rstrip()


def _settle(session: Session, reply: Message) -> None:
    """A reply is over: a continuation is ordinary text again, and a reply with several
    versions keeps this one as the version it is."""
    reply.continued = False
    if reply.swipes > 1:
        versions.keep(session, reply)


def stop_reply(session: Session, bus: Bus, dialog: Dialog) -> bool:
    """Stop every open reply of the dialog: a waiting one ends with this transaction, a
    streaming one when its node has stopped (its dispatcher keeps the text so far)."""
    replies = open_replies(session, dialog.id)
    for reply in replies:
        if jobs.cancel(session, bus, reply.job_id) != queue.RUNNING:
            end_reply(session, bus, reply.id, reply.job_id, "", cancelled=True)
    return bool(replies)


def resume_open_replies(session: Session, bus: Bus, now: datetime) -> int:
    """Start-up: a reply left open without a job in the queue (its job ended without a word,
    or the row predates the durable queue) is asked for again. Replies whose job is queued or
    leased are left alone: a live process may be serving them, and a lapsed lease is re-queued
    by the dispatchers. Returns how many dialogs were asked again."""
    from webapp.accounts.models import User

    rows = session.execute(
        select(Message, Dialog, Character, User.display_name)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .join(Character, Character.id == Dialog.character_id)
        .join(User, User.id == Dialog.user_id)
        .outerjoin(InferenceJob, InferenceJob.id == Message.job_id)
        .where(
            Message.role == Role.ASSISTANT,
            Message.status.in_(OPEN_REPLY),
            InferenceJob.id.is_(None),
        )
        .order_by(Message.id)
    ).all()
    resumed: set[int] = set()
    for message, dialog, character, user_name in rows:
        # Asked again in place: its versions and its place in the dialog stay (a continuation
        # keeps the text it continues).
        if not message.continued:
            message.text = ""
        request_reply(session, bus, dialog, character, user_name=user_name, now=now, into=message)
        resumed.add(dialog.id)
    return len(resumed)
