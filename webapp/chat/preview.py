"""A manager's test chat with an unsaved draft: the same inference path as people's chats, below
them in the queue, kept only briefly on the bus and never stored as anyone's dialog."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from pc_node import protocol
from webapp.bus import Bus
from webapp.characters.editor import Draft
from webapp.characters.filters import mask, settled
from webapp.characters.story import Definition
from webapp.chat.context import Turn, build_prompt
from webapp.chat.replies import REPLY_MAX, generation_parameters
from webapp.inference import jobs, queue
from webapp.inference.queue import Priority, QueuedJob

KIND = "preview"
KEEP_SECONDS = 600


def _key(job_id: str) -> str:
    return f"preview:{job_id}"


def start(
    session: Session, bus: Bus, user_id: int, draft: Draft, message: str, user_name: str
) -> str:
    """Queue a reply of the draft character to one message; returns the job id."""
    prompt, _ = build_prompt(Definition.of(draft), [Turn(0, "user", message)], user_name=user_name)
    # The record first: the dispatcher may start (and finish) the job the moment it is queued.
    job_id = uuid.uuid4().hex
    bus.set(
        _key(job_id),
        {
            "state": "queued",
            "text": "",
            "user_id": user_id,
            "filters": list(draft.filters),
            "message": message,  # shown again on every refresh of the preview
        },
        ttl=KEEP_SECONDS,
    )
    jobs.submit(
        session,
        bus,
        job_id=job_id,
        user_id=user_id,
        kind=KIND,
        priority=Priority.PREVIEW,
        messages=prompt,
        **generation_parameters(draft),
        meta={"max_length": draft.max_length, "filters": list(draft.filters)},
        max_chars=min(draft.max_length, REPLY_MAX),
    )
    return job_id


def state(bus: Bus, job_id: str, user_id: int) -> dict[str, Any] | None:
    """{"state": queued|streaming|done|error|cancelled, "text"} for the manager who asked."""
    record = bus.get(_key(job_id))
    if record is None or record.get("user_id") != user_id:
        return None
    if record["state"] == "streaming":
        text = jobs.partial(bus, job_id)[0]
        record["text"] = mask(text[: settled(text)], record.get("filters", []))
    return record


def cancel(session: Session, bus: Bus, job_id: str, user_id: int) -> dict[str, Any] | None:
    """The manager stops waiting: a queued preview leaves the queue now, a running one when
    its node has stopped (the handler then records it as cancelled)."""
    record = state(bus, job_id, user_id)
    if record is None:
        return None
    waiting = record["state"] in ("queued", "streaming")
    if waiting and jobs.cancel(session, bus, job_id) != queue.RUNNING:
        record = {**record, "state": "cancelled"}
        bus.set(_key(job_id), record, ttl=KEEP_SECONDS)
    return record


class PreviewJobs:
    """The dispatcher's handler for preview jobs: results live on the bus for ten minutes."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def _update(self, job: QueuedJob, **values: Any) -> None:
        record = self.bus.get(_key(job.job_id)) or {"user_id": job.user_id}
        self.bus.set(_key(job.job_id), {**record, **values}, ttl=KEEP_SECONDS)

    def on_started(self, session: Session, job: QueuedJob) -> None:
        self._update(job, state="streaming")

    def on_done(self, session: Session, job: QueuedJob, text: str, done: protocol.Done) -> None:
        from webapp.chat.service import clean_reply

        meta = job.payload.get("meta", {})
        text = mask(text, meta.get("filters", []))
        self._update(job, state="done", text=clean_reply(text, meta.get("max_length", 2000)))

    def on_ended(self, session: Session, job: QueuedJob, partial: str, *, cancelled: bool) -> None:
        partial = mask(partial, job.payload.get("meta", {}).get("filters", []))
        self._update(job, state="cancelled" if cancelled else "error", text=partial)
