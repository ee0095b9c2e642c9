"""The fair queue in front of the GPU: priorities, round-robin between users, one waiting job each.

A plain data structure with no I/O: the dispatcher owns one and is the only one to touch it, so it
needs no locks and its behaviour is easy to test.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Priority(IntEnum):
    """Lower goes first: people chatting, then managers' test chats, then background summaries."""

    USER = 0
    PREVIEW = 1
    SUMMARY = 2


BACKGROUND = Priority.SUMMARY  # this and below: work nobody waits for (see Dispatcher)


class QueueRefused(Exception):
    """The user already has a job waiting: one at a time keeps the GPU fair."""


@dataclass
class QueuedJob:
    job_id: str
    user_id: int
    priority: Priority
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0

    @property
    def background(self) -> bool:
        return self.priority >= BACKGROUND


class FairQueue:
    def __init__(self) -> None:
        # Per priority: user -> that user's one waiting job, oldest first. A user who was served
        # re-enters at the end when they submit again, which makes the order round-robin.
        self._lanes: dict[Priority, OrderedDict[int, QueuedJob]] = {
            p: OrderedDict() for p in Priority
        }

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def __iter__(self) -> Iterator[QueuedJob]:
        """Waiting jobs in the order they would start if no user had one running."""
        for priority in Priority:
            yield from self._lanes[priority].values()

    def push(self, job: QueuedJob) -> None:
        lane = self._lanes[job.priority]
        if job.user_id in lane:
            raise QueueRefused(job.user_id)
        lane[job.user_id] = job

    def push_front(self, job: QueuedJob) -> None:
        """Put a job back at the head of its lane (a retry after the node link dropped)."""
        lane = self._lanes[job.priority]
        lane[job.user_id] = job
        lane.move_to_end(job.user_id, last=False)

    def pop_next(self, busy_users: set[int] | frozenset[int] = frozenset()) -> QueuedJob | None:
        """The next job to run: best priority first, round-robin inside it, skipping users who
        already have a job running (one running job per user; background jobs run beside)."""
        job = self.peek_next(busy_users)
        if job is not None:
            del self._lanes[job.priority][job.user_id]
        return job

    def peek_next(self, busy_users: set[int] | frozenset[int] = frozenset()) -> QueuedJob | None:
        for priority in Priority:
            for user_id, job in self._lanes[priority].items():
                if priority >= BACKGROUND or user_id not in busy_users:
                    return job
        return None

    def waiting(self, *, background: bool = False) -> int:
        """How many jobs wait in the foreground lanes (or, with background, in the others)."""
        return sum(
            len(lane)
            for priority, lane in self._lanes.items()
            if (priority >= BACKGROUND) == background
        )

    def cancel(self, job_id: str) -> QueuedJob | None:
        for lane in self._lanes.values():
            for user_id, job in lane.items():
                if job.job_id == job_id:
                    return lane.pop(user_id)
        return None

    def position(self, job_id: str) -> int | None:
        """1-based place in line, or None when the job is not waiting."""
        for place, job in enumerate(self, start=1):
            if job.job_id == job_id:
                return place
        return None

    def find(self, job_id: str) -> QueuedJob | None:
        return next((job for job in self if job.job_id == job_id), None)
