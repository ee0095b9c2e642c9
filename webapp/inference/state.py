"""The dispatcher's vocabulary: its settings, a job handler, a linked node and a running job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from pc_node import protocol
from webapp.inference.queue import QueuedJob


class JobHandler(Protocol):
    """How a kind of job (e.g. "chat_reply") is stored as it progresses. Called from the
    dispatcher inside the transaction that ends the job's lease (commit is the dispatcher's);
    exceptions roll it back, are logged and must not take the dispatcher down."""

    def on_started(self, session: Session, job: QueuedJob) -> None: ...

    def on_done(self, session: Session, job: QueuedJob, text: str, done: protocol.Done) -> None: ...

    def on_ended(
        self, session: Session, job: QueuedJob, partial: str, *, cancelled: bool
    ) -> None: ...


@dataclass(frozen=True)
class DispatcherConfig:
    link_timeout: float = 9.0  # no frame for this long: the link is dead
    ping_every: float = 3.0
    overload_wait: float = 60.0  # expected wait for a new job above this: "overloaded"
    queue_timeout: float = 600.0  # a job waiting longer fails with a message to retry
    status_every: float = 2.0  # heartbeats and the deployment's AI status
    renew_every: float = 3.0  # leases of running jobs (queue.LEASE_S long)
    lapsed_every: float = 2.0  # look for jobs whose holder stopped renewing
    poll_every: float = 0.25  # look at the queue even when nobody woke us
    cancel_grace: float = 10.0  # a stopped job's slot is free once the node confirms, or after
    max_attempts: int = 3  # tries of one job (lost links, lapsed leases) before it fails


@dataclass
class Running:
    job: QueuedJob
    started: float
    text: list[str] = field(default_factory=list)
    next_seq: int = 0
    first_token_at: float | None = None
    partial_saved: float = -1e9
    shown_text: list[str] = field(default_factory=list)  # what was streamed, piece by piece
    shown: int = 0  # characters streamed to people (the live cut at max_chars)
    held: str = ""  # text past the cut point, kept back until the reply ends or overflows
    stopping_since: float | None = None  # told to cancel: the slot frees on the node's answer

    def text_so_far(self) -> str:
        return "".join(self.text)


@dataclass
class NodeLink:
    hello: protocol.Hello
    send_frame: Callable[[str], None]
    close: Callable[[], None]
    last_seen: float
    last_ping: float = 0.0
    key_id: int | None = None
    rest_until: float = 0.0  # the node said it was busy: no new job before this
    running: dict[str, Running] = field(default_factory=dict)

    def send(self, message: protocol.Message) -> None:
        self.send_frame(protocol.encode(message))

    @property
    def free(self) -> int:
        return self.hello.capacity - len(self.running)
