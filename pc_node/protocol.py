"""The node link protocol: versioned JSON messages over one WebSocket, in both directions.

Every frame is one JSON object {"v": PROTOCOL_VERSION, "type": ..., ...fields}. The VDS sends job,
cancel and ping; the node sends hello, delta, done, error, metrics and pong. decode() checks the
version, the type and every field's type, so neither side ever acts on a malformed frame.
"""

from __future__ import annotations

import json
import types
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024


class ProtocolError(ValueError):
    """A frame that is not valid JSON, has the wrong version or type, or a bad field."""


@dataclass(frozen=True)
class Message:
    TYPE: ClassVar[str] = ""


@dataclass(frozen=True)
class Hello(Message):
    """Node -> VDS, first frame after connecting: who the node is and how much it can take."""

    TYPE: ClassVar[str] = "hello"
    node_id: str
    engine: str
    model: str
    context_size: int
    capacity: int


@dataclass(frozen=True)
class Job(Message):
    """VDS -> node: generate a reply for chat messages [{"role", "content"}] with these params."""

    TYPE: ClassVar[str] = "job"
    job_id: str
    messages: list
    max_tokens: int
    temperature: float = 0.7
    stop: list = field(default_factory=list)


@dataclass(frozen=True)
class Delta(Message):
    """Node -> VDS: the next piece of text; seq starts at 0 and has no gaps."""

    TYPE: ClassVar[str] = "delta"
    job_id: str
    seq: int
    text: str


@dataclass(frozen=True)
class Done(Message):
    """Node -> VDS: the job finished; finish_reason is stop, length or cancelled."""

    TYPE: ClassVar[str] = "done"
    job_id: str
    tokens: int
    prompt_ms: float
    generation_ms: float
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Error(Message):
    """Node -> VDS: a job (or, with job_id None, the node itself) failed."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    job_id: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class Cancel(Message):
    TYPE: ClassVar[str] = "cancel"
    job_id: str


@dataclass(frozen=True)
class Metrics(Message):
    """Node -> VDS every few seconds: {"cpu_percent": 12.5, "gpu_percent": ..., ...}."""

    TYPE: ClassVar[str] = "metrics"
    at: float
    values: dict


@dataclass(frozen=True)
class Ping(Message):
    TYPE: ClassVar[str] = "ping"
    nonce: str


@dataclass(frozen=True)
class Pong(Message):
    TYPE: ClassVar[str] = "pong"
    nonce: str


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls for cls in (Hello, Job, Delta, Done, Error, Cancel, Metrics, Ping, Pong)
}


def encode(message: Message) -> str:
    """One frame of JSON text for the message."""
    _check_fields(type(message), asdict(message))
    return json.dumps({"v": PROTOCOL_VERSION, "type": message.TYPE, **asdict(message)})


def decode(frame: str | bytes) -> Message:
    """The message in a frame; raise ProtocolError saying what is wrong with it."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(frame)} bytes is over {MAX_FRAME_BYTES}")
    try:
        data = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("a frame must be a JSON object")
    if data.pop("v", None) != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version, expected {PROTOCOL_VERSION}")
    cls = MESSAGE_TYPES.get(data.pop("type", None))
    if cls is None:
        raise ProtocolError(f"unknown message type; known: {', '.join(sorted(MESSAGE_TYPES))}")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ProtocolError(f"{cls.TYPE}: unknown fields {sorted(unknown)}")
    _check_fields(cls, data)
    try:
        return cls(**data)
    except TypeError as exc:  # a required field is missing
        raise ProtocolError(f"{cls.TYPE}: {exc}") from None


def _check_fields(cls: type[Message], data: dict[str, Any]) -> None:
    hints = get_type_hints(cls)
    for name, value in data.items():
        if not _matches(value, hints[name]):
            raise ProtocolError(f"{cls.TYPE}.{name}: {type(value).__name__} is not {hints[name]}")


def _matches(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_matches(value, option) for option in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or hint)
