"""What the dispatchers say about a job on its bus channel, as typed messages.

The wire form is a flat JSON object {"event": KIND, "job_id", ...fields}; parse() turns one back
into its dataclass (None for anything else), so publishers and listeners share one vocabulary.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from webapp.bus import Bus, BusUnavailable


def job_channel(job_id: str) -> str:
    return f"inference:job:{job_id}"


@dataclass(frozen=True)
class JobEvent:
    KIND: ClassVar[str]
    job_id: str

    def to_message(self) -> dict[str, Any]:
        return {"event": self.KIND, **asdict(self)}


@dataclass(frozen=True)
class Queued(JobEvent):
    """Waiting: its place in the deployment's line and the expected seconds to the answer."""

    KIND: ClassVar[str] = "queued"
    position: int
    eta_s: int
    online: bool = True


@dataclass(frozen=True)
class Started(JobEvent):
    KIND: ClassVar[str] = "started"
    node: str


@dataclass(frozen=True)
class Delta(JobEvent):
    """The next piece of the text people see; seq counts from 0 for each try."""

    KIND: ClassVar[str] = "delta"
    seq: int
    text: str


@dataclass(frozen=True)
class Restarted(JobEvent):
    """The try was lost (a link, a lease): the text so far is void, the job waits again."""

    KIND: ClassVar[str] = "restart"
    message: str


@dataclass(frozen=True)
class Done(JobEvent):
    KIND: ClassVar[str] = "done"
    text: str
    tokens: int
    finish_reason: str
    first_token_ms: float


@dataclass(frozen=True)
class Failed(JobEvent):
    KIND: ClassVar[str] = "error"
    message: str
    retryable: bool = True


@dataclass(frozen=True)
class Cancelled(JobEvent):
    KIND: ClassVar[str] = "cancelled"


KINDS: dict[str, type[JobEvent]] = {
    cls.KIND: cls for cls in (Queued, Started, Delta, Restarted, Done, Failed, Cancelled)
}
_NAMES = {cls: {f.name for f in fields(cls)} for cls in KINDS.values()}


def parse(message: dict[str, Any]) -> JobEvent | None:
    cls = KINDS.get(message.get("event", ""))
    if cls is None:
        return None
    try:
        return cls(**{k: v for k, v in message.items() if k in _NAMES[cls]})
    except TypeError:  # a field missing: not ours
        return None


def publish(bus: Bus, event: JobEvent) -> None:
    """On the job's channel; with Redis away the event is lost (listeners resync on their
    next hello, and the outcome is in the database)."""
    with contextlib.suppress(BusUnavailable):
        bus.publish(job_channel(event.job_id), event.to_message())
