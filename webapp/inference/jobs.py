"""Submitting and cancelling inference jobs, and the names of their bus channels.

Any process (web worker, Huey worker) submits through the bus; the dispatcher that holds a node
link picks jobs up, and every event about a job is published on its own channel.
"""

from __future__ import annotations

import uuid
from typing import Any

from webapp.bus import Bus
from webapp.inference.queue import Priority

SUBMIT_QUEUE = "inference:submit"
CONTROL_CHANNEL = "inference:control"
MAX_TOKENS_CAP = 2048


def job_channel(job_id: str) -> str:
    return f"inference:job:{job_id}"


def partial_key(job_id: str) -> str:
    return f"inference:partial:{job_id}"


def submit(
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
) -> str:
    """Queue a generation; returns the job id whose channel will carry its events.

    `kind` picks the completion handler that stores the result (e.g. "chat_reply"); `meta` is
    handed to it untouched.
    """
    job_id = job_id or uuid.uuid4().hex
    bus.push(
        SUBMIT_QUEUE,
        {
            "job_id": job_id,
            "user_id": user_id,
            "kind": kind,
            "priority": int(priority),
            "messages": messages,
            "max_tokens": max(1, min(int(max_tokens), MAX_TOKENS_CAP)),
            "temperature": float(temperature),
            "meta": meta or {},
        },
    )
    bus.publish(CONTROL_CHANNEL, {"action": "submitted"})  # wakes the dispatcher at once
    return job_id


def cancel(bus: Bus, job_id: str) -> None:
    """Stop a job wherever it is: waiting in the queue or generating on the node."""
    bus.publish(CONTROL_CHANNEL, {"action": "cancel", "job_id": job_id})


def partial(bus: Bus, job_id: str) -> tuple[str, int]:
    """(text so far, seq of its last delta; -1 before any) for a device joining mid-stream."""
    record = bus.get(partial_key(job_id)) or {}
    return record.get("text", ""), int(record.get("seq", -1))


def revoke_links(bus: Bus, key_id: int) -> None:
    """Cut off every node linked with this API key, in whichever process holds the link."""
    bus.publish(CONTROL_CHANNEL, {"action": "revoke_key", "key_id": key_id})
