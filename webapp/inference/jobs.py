"""Submitting and cancelling inference jobs (their events: inference.events).

A job is a row of the deployment's queue (inference.queue), written in the caller's
transaction: a message and the job for its reply are stored together or not at all. The bus
only wakes the dispatchers (they also look at the queue a few times a second) and carries each
job's events on its own channel.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.bus import Bus, BusUnavailable
from webapp.db import on_commit, utcnow
from webapp.inference import economy, queue
from webapp.inference.queue import Priority

CONTROL_CHANNEL = "inference:control"
MAX_TOKENS_CAP = 2048


def partial_key(job_id: str) -> str:
    return f"inference:partial:{job_id}"


def submit(
    session: Session,
    bus: Bus,
    *,
    user_id: int,
    kind: str,
    messages: list[dict[str, str]],
    max_tokens: int,
    temperature: float = 0.7,
    priority: Priority = Priority.USER,
    meta: dict[str, Any] | None = None,
    job_id: str | None = None,
    max_chars: int | None = None,
    now: datetime | None = None,
) -> str:
    """Queue a generation (once the transaction commits); returns the job id whose channel will
    carry its events.

    `kind` picks the completion handler that stores the result (e.g. "chat_reply"); `meta` is
    handed to it untouched. `max_chars`: the reply is cut there, live, as it will be stored.
    `max_tokens` is shortened while economy mode is on (inference.economy).
    """
    job_id = job_id or uuid.uuid4().hex
    queue.enqueue(
        session,
        job_id=job_id,
        user_id=user_id,
        kind=kind,
        priority=priority,
        payload={
            "messages": messages,
            "max_tokens": max(1, economy.cap(bus, min(int(max_tokens), MAX_TOKENS_CAP))),
            "temperature": float(temperature),
            "max_chars": max_chars,
            "meta": meta or {},
        },
        now=now or utcnow(),
    )
    on_commit(session, lambda: wake(bus))
    return job_id


def wake(bus: Bus) -> None:
    """Tell the dispatchers at once that there is work (they would see it within a moment)."""
    with contextlib.suppress(BusUnavailable):
        bus.publish(CONTROL_CHANNEL, {"action": "submitted"})


def cancel(session: Session, bus: Bus, job_id: str) -> str | None:
    """Stop a job wherever it is: a waiting one leaves the queue with this transaction; a
    running one is marked, and its dispatcher stops it on the node (told at once through the
    bus, and in any case at its next lease renewal). Returns "queued", "running" or None."""
    where = queue.cancel(session, job_id)
    if where == queue.RUNNING:
        message = {"action": "cancel", "job_id": job_id}
        on_commit(session, lambda: bus.publish(CONTROL_CHANNEL, message))
    return where


def partial(bus: Bus, job_id: str) -> tuple[str, int]:
    """(text so far, seq of its last delta; -1 before any) for a device joining mid-stream."""
    record = bus.get(partial_key(job_id)) or {}
    return record.get("text", ""), int(record.get("seq", -1))


def revoke_links(bus: Bus, key_id: int) -> None:
    """Cut off every node linked with this API key, in whichever process holds the link."""
    bus.publish(CONTROL_CHANNEL, {"action": "revoke_key", "key_id": key_id})
