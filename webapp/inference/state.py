"""The dispatcher's vocabulary: its settings, a job handler, a linked node and a running job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pc_node import protocol
from webapp.inference.queue import QueuedJob


class JobHandler(Protocol):
    """How a kind of job (e.g. "chat_reply") is stored as it progresses. Called from the
    dispatcher; exceptions are logged and must not take the dispatcher down."""

    def on_started(self, job: QueuedJob) -> None: ...

    def on_done(self, job: QueuedJob, text: str, done: protocol.Done) -> None: ...

    def on_ended(self, job: QueuedJob, partial: str, *, cancelled: bool) -> None: ...


@dataclass(frozen=True)
class DispatcherConfig:
    link_timeout: float = 9.0  # no frame for this long: the link is dead
    ping_every: float = 3.0
    overload_wait: float = 60.0  # expected wait for a new job above this: "overloaded"
    queue_timeout: float = 600.0  # a job waiting longer fails with a message to retry
    status_every: float = 2.0
    max_attempts: int = 2  # the first try plus one retry after a lost link


@dataclass
class Running:
    job: QueuedJob
    started: float
    text: list[str] = field(default_factory=list)
    next_seq: int = 0
    first_token_at: float | None = None
    partial_saved: float = -1e9


@dataclass
class NodeLink:
    hello: protocol.Hello
    send_frame: Callable[[str], None]
    close: Callable[[], None]
    last_seen: float
    last_ping: float = 0.0
    key_id: int | None = None
    running: dict[str, Running] = field(default_factory=dict)

    def send(self, message: protocol.Message) -> None:
        self.send_frame(protocol.encode(message))

    @property
    def free(self) -> int:
        return self.hello.capacity - len(self.running)
