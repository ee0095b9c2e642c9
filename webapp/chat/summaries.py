"""The model's own summary of a long dialog, written in the background.

Compression (chat.context) summarises older messages at once and without the model: the first
sentence of each. Once SUMMARY_BATCH such messages have piled up past the last written summary,
the model is asked, below everyone's chats in the queue (Priority.SUMMARY), to rewrite the
summary: the previous one plus those messages. The answer is stored on the dialog; from then on
it stands for everything up to its last message and only later ones are summarised extractively.

It never costs a person waiting time: the dispatcher stops a running summary when someone's
reply needs its slot, a summary is only asked for while the AI is online and not in economy
mode, and one that fails or is stopped is simply asked for again later. One at a time per
dialog (a bus claim, released when the job ends).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from pc_node import protocol
from webapp.bus import Bus, BusUnavailable
from webapp.characters.filters import mask
from webapp.characters.models import Character
from webapp.chat.context import Turn, Written
from webapp.chat.models import Dialog
from webapp.db import on_commit
from webapp.inference import economy, jobs
from webapp.inference.queue import Priority, QueuedJob
from webapp.inference.status import read_status

KIND = "dialog_summary"
SUMMARY_BATCH = 10  # messages summarised extractively before the model is asked
TURN_LIMIT = 500  # characters of one message shown to the model
INPUT_LIMIT = 6000  # characters of messages in one request; the rest go in the next one
WRITTEN_LIMIT = 1200  # characters of a stored summary
WRITTEN_MIN = 20  # shorter answers are not a summary: the extractive one stays
MAX_TOKENS = 384
TEMPERATURE = 0.3
CLAIM_TTL_S = 900  # a request lost on the way (a refused submission) is retried after this

INSTRUCTION = (
    "Ты ведёшь память ролевого диалога между пользователем «{user}» и персонажем «{char}». "
    "Напиши краткое содержание диалога по-русски, в прошедшем времени, от третьего лица, "
    "не длиннее 120 слов. Сохрани имена, факты о пользователе, его просьбы и договорённости, "
    "важные события и чувства. Ничего не выдумывай и не добавляй оценок. "
    "Выведи только текст краткого содержания."
)


def _claim_key(dialog_id: int) -> str:
    return f"chat:summary:{dialog_id}"


def written_of(dialog: Dialog) -> Written | None:
    if not dialog.written_summary:
        return None
    return Written(dialog.written_summary, dialog.written_upto_id or 0)


def wanted(unwritten: Sequence[Turn]) -> bool:
    return len(unwritten) >= SUMMARY_BATCH


def request(
    session: Session,
    bus: Bus,
    dialog: Dialog,
    character: Character,
    user_name: str,
    unwritten: Sequence[Turn],
) -> None:
    """Ask the model, once the transaction commits, for a summary covering `unwritten` too
    (unless one is on its way already, or the GPU has no room for background work)."""
    dialog_id, user_id, written = dialog.id, dialog.user_id, written_of(dialog)
    job_id = uuid.uuid4().hex
    try:
        if not _gpu_has_room(bus) or not bus.claim(_claim_key(dialog_id), job_id, CLAIM_TTL_S):
            return
    except BusUnavailable:
        return  # background work: the next message asks again
    messages, upto_id = summary_prompt(character.name, user_name, written, unwritten)
    jobs.submit(
        session,
        bus,
        job_id=job_id,
        user_id=user_id,
        kind=KIND,
        priority=Priority.SUMMARY,
        messages=messages,
        max_tokens=MAX_TOKENS,
        temperature=TEMPERATURE,
        meta={"dialog_id": dialog_id, "upto_id": upto_id, "filters": list(character.filters or [])},
    )


def _gpu_has_room(bus: Bus) -> bool:
    return read_status(bus).get("state") == "online" and economy.state(bus) is None


def summary_prompt(
    character_name: str, user_name: str, written: Written | None, unwritten: Sequence[Turn]
) -> tuple[list[dict[str, str]], int]:
    """The request, and the id of the last message it covers (as much as INPUT_LIMIT allows,
    oldest first: what does not fit goes in the next request)."""
    lines: list[str] = []
    size = 0
    upto_id = written.upto_id if written else 0
    for turn in unwritten:
        text = " ".join(turn.text.split())
        if len(text) > TURN_LIMIT:
            text = text[: TURN_LIMIT - 1].rstrip() + "…"
        line = f"{user_name if turn.role == 'user' else character_name}: {text}"
        if lines and size + len(line) > INPUT_LIMIT:
            break
        lines.append(line)
        size += len(line) + 1
        upto_id = turn.id
    parts = []
    if written:
        parts.append("Краткое содержание до этого места:\n" + written.text)
    parts.append("Сообщения диалога:\n" + "\n".join(lines))
    instruction = INSTRUCTION.format(user=user_name, char=character_name)
    return [
        {"role": "system", "content": instruction},
        {"role": "user", "content": "\n\n".join(parts)},
    ], upto_id


def clean_summary(text: str) -> str:
    """The model's answer as stored: whitespace tidied, at most WRITTEN_LIMIT characters, cut at
    a sentence end when it had to be cut (or ran out of tokens mid-sentence)."""
    text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines() if line.strip())
    if len(text) > WRITTEN_LIMIT:
        text = text[:WRITTEN_LIMIT]
    if text and text[-1] not in ".!?…":
        end = max(text.rfind(mark) for mark in ".!?…")
        text = text[: end + 1] if end >= WRITTEN_MIN else text
    return text


class WrittenSummaries:
    """The dispatcher's handler for summary jobs: the answer goes on the dialog."""

    def __init__(self, app) -> None:
        self.app = app

    def _bus(self) -> Bus:
        return self.app.extensions["mehhost.bus"]

    def on_started(self, session: Session, job: QueuedJob) -> None:
        return None

    def on_done(self, session: Session, job: QueuedJob, text: str, done: protocol.Done) -> None:
        meta = job.meta
        on_commit(session, lambda: self._release(job))
        text = mask(clean_summary(text), meta.get("filters") or [])
        if len(text) < WRITTEN_MIN:
            return
        dialog = session.get(Dialog, meta["dialog_id"])
        # A newer summary may have landed first (after a restart, say): keep it.
        if dialog is None or (dialog.written_upto_id or 0) >= meta["upto_id"]:
            return
        dialog.written_summary = text
        dialog.written_upto_id = meta["upto_id"]

    def on_ended(self, session: Session, job: QueuedJob, partial: str, *, cancelled: bool) -> None:
        on_commit(session, lambda: self._release(job))

    def _release(self, job: QueuedJob) -> None:
        with contextlib.suppress(BusUnavailable):  # if so, the claim expires on its own
            self._bus().delete(_claim_key(job.payload["meta"]["dialog_id"]))
