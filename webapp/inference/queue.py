"""The deployment's one fair queue in front of the GPU, kept in the database.

Every web process and every node see the same order: priorities first (people, then managers'
test chats, then background summaries), round robin between people inside a priority, and one
running job per person across all their dialogs (their other jobs wait their turn; none is ever
refused). A dispatcher that holds a node link claims the next job under a lease it renews; a
lease that lapses (the process died or froze) puts the job back in line. Only the holder of the
current lease may end a job, so each outcome is stored once.

Plain functions over a session: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from webapp.inference.models import DispatchLock, InferenceJob

QUEUED, RUNNING = "queued", "running"
LEASE_S = 12.0  # a running job's lease; its holder renews it every few seconds


class Priority(IntEnum):
    """Lower goes first: people chatting, then managers' test chats, then background summaries."""

    USER = 0
    PREVIEW = 1
    SUMMARY = 2


BACKGROUND = Priority.SUMMARY  # this and below: work nobody waits for (see Dispatcher)
LINE_ORDER = (
    InferenceJob.priority,
    InferenceJob.ready_at,
    InferenceJob.created_at,
    InferenceJob.id,
)


@dataclass(frozen=True)
class QueuedJob:
    """A job as a dispatcher holds it; `attempt` fences its lease (see finish)."""

    job_id: str
    user_id: int
    priority: Priority
    kind: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0

    @property
    def background(self) -> bool:
        return self.priority >= BACKGROUND

    @property
    def meta(self) -> dict[str, Any]:
        return self.payload.get("meta") or {}


def _job(row: InferenceJob) -> QueuedJob:
    return QueuedJob(
        job_id=row.id,
        user_id=row.user_id,
        priority=Priority(row.priority),
        kind=row.kind,
        payload=json.loads(row.payload),
        attempt=row.attempts,
    )


def enqueue(
    session: Session,
    *,
    job_id: str,
    user_id: int,
    kind: str,
    priority: Priority,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        InferenceJob(
            id=job_id,
            user_id=user_id,
            kind=kind,
            priority=int(priority),
            state=QUEUED,
            payload=json.dumps(payload, ensure_ascii=False),
            attempts=0,
            cancel_requested=False,
            ready_at=now,
            created_at=now,
        )
    )
    session.flush()


def any_waiting(session: Session) -> bool:
    """A cheap read before claiming: most rounds find nothing, and a claim takes the lock."""
    return (
        session.scalar(select(InferenceJob.id).where(InferenceJob.state == QUEUED).limit(1))
        is not None
    )


def claim_next(session: Session, owner: str, now: datetime) -> QueuedJob | None:
    """Lease the next job to `owner`: best priority, longest waiting, skipping people who have a
    job running (background jobs run beside). Their other jobs go to the back of the line."""
    session.execute(select(DispatchLock).where(DispatchLock.name == "dispatch").with_for_update())
    busy = session.scalars(
        select(InferenceJob.user_id).where(
            InferenceJob.state == RUNNING, InferenceJob.priority < int(BACKGROUND)
        )
    ).all()  # a handful: one per slot of every node
    eligible = InferenceJob.state == QUEUED
    if busy:
        eligible &= (InferenceJob.priority >= int(BACKGROUND)) | InferenceJob.user_id.not_in(busy)
    row = session.scalar(select(InferenceJob).where(eligible).order_by(*LINE_ORDER).limit(1))
    if row is None:
        return None
    row.state = RUNNING
    row.lease_owner = owner
    row.lease_until = now + timedelta(seconds=LEASE_S)
    row.attempts += 1
    session.execute(
        update(InferenceJob)
        .where(
            InferenceJob.user_id == row.user_id,
            InferenceJob.priority == row.priority,
            InferenceJob.state == QUEUED,
        )
        .values(ready_at=now)
    )
    session.flush()
    return _job(row)


def renew(
    session: Session, owner: str, job_ids: list[str], now: datetime
) -> tuple[set[str], set[str]]:
    """Extend the leases `owner` still holds: (held, of them asked to stop). A job not held any
    more lapsed meanwhile and belongs to someone else now."""
    if not job_ids:
        return set(), set()
    mine = (
        InferenceJob.id.in_(job_ids),
        InferenceJob.lease_owner == owner,
        InferenceJob.state == RUNNING,
    )
    session.execute(
        update(InferenceJob).where(*mine).values(lease_until=now + timedelta(seconds=LEASE_S))
    )
    rows = session.execute(select(InferenceJob.id, InferenceJob.cancel_requested).where(*mine))
    held, stop = set(), set()
    for job_id, cancel_requested in rows:
        held.add(job_id)
        if cancel_requested:
            stop.add(job_id)
    return held, stop


def finish(session: Session, job: QueuedJob, owner: str) -> bool:
    """End a job this lease holds (its outcome is about to be stored): False when the lease is
    not ours any more (then someone else answers it, and this outcome must be dropped)."""
    result = session.execute(
        delete(InferenceJob).where(
            InferenceJob.id == job.job_id,
            InferenceJob.lease_owner == owner,
            InferenceJob.attempts == job.attempt,
            InferenceJob.state == RUNNING,
        )
    )
    return result.rowcount == 1


def give_back(session: Session, job: QueuedJob, owner: str, *, count_attempt: bool) -> bool:
    """Put a held job back at the front of its line (its link dropped, or the node said it was
    busy: then the attempt does not count)."""
    result = session.execute(
        update(InferenceJob)
        .where(
            InferenceJob.id == job.job_id,
            InferenceJob.lease_owner == owner,
            InferenceJob.state == RUNNING,
        )
        .values(
            state=QUEUED,
            lease_owner=None,
            lease_until=None,
            attempts=InferenceJob.attempts - (0 if count_attempt else 1),
        )
    )
    return result.rowcount == 1


@dataclass
class Lapsed:
    requeued: list[QueuedJob] = field(default_factory=list)
    failed: list[QueuedJob] = field(default_factory=list)  # out of attempts
    cancelled: list[QueuedJob] = field(default_factory=list)  # stopped while its holder was gone


def requeue_lapsed(session: Session, now: datetime, max_attempts: int) -> Lapsed:
    """Jobs whose holder stopped renewing: back in line (at the front: they keep their place),
    or ended when they were asked to stop or have had their tries. Never touches a live lease."""
    found = Lapsed()
    rows = session.scalars(
        select(InferenceJob)
        .where(InferenceJob.state == RUNNING, InferenceJob.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        job = _job(row)
        if row.cancel_requested or row.attempts >= max_attempts:
            session.delete(row)
            (found.cancelled if row.cancel_requested else found.failed).append(job)
        else:
            row.state, row.lease_owner, row.lease_until = QUEUED, None, None
            found.requeued.append(job)
    session.flush()
    return found


def cancel(session: Session, job_id: str) -> str | None:
    """Stop a job: a waiting one leaves the queue at once ("queued"); a running one is marked
    ("running") and its holder stops it on the node. None: no such job."""
    row = session.get(InferenceJob, job_id, with_for_update=True)
    if row is None:
        return None
    if row.state == QUEUED:
        session.delete(row)
        session.flush()
        return QUEUED
    row.cancel_requested = True
    return RUNNING


def expire_waiting(session: Session, now: datetime, timeout_s: float) -> list[QueuedJob]:
    """Jobs that waited longer than anyone should: taken out, for their kind to fail visibly."""
    rows = session.scalars(
        select(InferenceJob).where(
            InferenceJob.state == QUEUED,
            InferenceJob.created_at < now - timedelta(seconds=timeout_s),
        )
    ).all()
    for row in rows:
        session.delete(row)
    return [_job(row) for row in rows]


def positions(session: Session) -> dict[str, int]:
    """job id -> 1-based place of every waiting foreground job, in the order they will start:
    each person's first waiting job in line order, then everyone's second, and so on."""
    rows = session.execute(
        select(InferenceJob.id, InferenceJob.user_id)
        .where(InferenceJob.state == QUEUED, InferenceJob.priority < int(BACKGROUND))
        .order_by(*LINE_ORDER)
    ).all()
    seen: Counter[int] = Counter()
    ranked = []
    for index, (job_id, user_id) in enumerate(rows):
        ranked.append((seen[user_id], index, job_id))
        seen[user_id] += 1
    return {job_id: place for place, (_, _, job_id) in enumerate(sorted(ranked), start=1)}


def counts(session: Session) -> dict[str, int]:
    """How many jobs wait and run, foreground and background."""
    rows = session.execute(
        select(
            InferenceJob.state,
            InferenceJob.priority >= int(BACKGROUND),
            func.count(),
        ).group_by(InferenceJob.state, InferenceJob.priority >= int(BACKGROUND))
    ).all()
    found = {"queue": 0, "background": 0, "running": 0, "background_running": 0}
    for state, background, count in rows:
        if state == QUEUED:
            found["background" if background else "queue"] += count
        else:
            found["background_running" if background else "running"] += count
    return found
