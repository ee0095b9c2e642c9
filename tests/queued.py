"""Reading and taking jobs from the durable queue in tests, as a dispatcher would."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from webapp.inference.models import InferenceJob
from webapp.inference.queue import Priority, QueuedJob


def _item(row: InferenceJob) -> dict[str, Any]:
    return {
        "job_id": row.id,
        "user_id": row.user_id,
        "kind": row.kind,
        "priority": row.priority,
        **json.loads(row.payload),
    }


def waiting_jobs(session) -> list[dict[str, Any]]:
    """Every queued job, oldest first, as {"job_id", "user_id", "kind", "priority", payload...}."""
    rows = session.scalars(
        select(InferenceJob).where(InferenceJob.state == "queued").order_by(InferenceJob.created_at)
    ).all()
    return [_item(row) for row in rows]


def take_job(session) -> dict[str, Any] | None:
    """The oldest queued job, taken out of the queue (None when there is none)."""
    row = session.scalar(
        select(InferenceJob)
        .where(InferenceJob.state == "queued")
        .order_by(InferenceJob.created_at, InferenceJob.id)
        .limit(1)
    )
    if row is None:
        return None
    item = _item(row)
    session.delete(row)
    session.flush()
    return item


def clear_queue(session) -> None:
    for row in session.scalars(select(InferenceJob)).all():
        session.delete(row)
    session.flush()


def as_job(item: dict[str, Any]) -> QueuedJob:
    payload = {k: v for k, v in item.items() if k not in ("job_id", "user_id", "kind", "priority")}
    return QueuedJob(
        item["job_id"], item["user_id"], Priority(item["priority"]), item["kind"], payload, 1
    )
