"""The node link protocol: versioned JSON messages over one WebSocket, in both directions.

Every frame is one JSON object {"v": PROTOCOL_VERSION, "type": ..., ...fields}. The VDS sends
job, cancel and ping; the node sends hello, delta (or deltas), done, error, metrics and pong.
decode() checks the version, the type and every field's type, so neither side ever acts on a
malformed frame.
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

PROTOCOL_VERSION = 3  # 2: deltas (several in one frame); 3: done.dropped
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
class Deltas(Message):
    """Node -> VDS: deltas that were waiting together, in order, as [job_id, seq, text] items.
    A busy node sends one frame where it would send many (one token of each running reply)."""

    TYPE: ClassVar[str] = "deltas"
    items: list

    @classmethod
    def pack(cls, deltas: list[Delta]) -> Deltas:
        return cls(items=[[delta.job_id, delta.seq, delta.text] for delta in deltas])

    def unpack(self) -> list[Delta]:
        return [Delta(job_id=job_id, seq=seq, text=text) for job_id, seq, text in self.items]


@dataclass(frozen=True)
class Done(Message):
    """Node -> VDS: the job finished; finish_reason is stop, length or cancelled."""

    TYPE: ClassVar[str] = "done"
    job_id: str
    tokens: int
    prompt_ms: float
    generation_ms: float
    finish_reason: str = "stop"
    dropped: int = 0  # oldest history turns the node left out to fit its context


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
    cls.TYPE: cls for cls in (Hello, Job, Delta, Deltas, Done, Error, Cancel, Metrics, Ping, Pong)
}


def encode(message: Message) -> str:
    """One frame of JSON text for the message."""
    data = asdict(message)
    _check_fields(type(message), data)
    return json.dumps({"v": PROTOCOL_VERSION, "type": message.TYPE, **data})


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
    unknown = data.keys() - _field_types(cls).keys()
    if unknown:
        raise ProtocolError(f"{cls.TYPE}: unknown fields {sorted(unknown)}")
    _check_fields(cls, data)
    if cls is Deltas:
        _check_delta_items(data.get("items", []))
    try:
        return cls(**data)
    except TypeError as exc:  # a required field is missing
        raise ProtocolError(f"{cls.TYPE}: {exc}") from None


def _check_delta_items(items: list) -> None:
    for item in items:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], int)
            and not isinstance(item[1], bool)
            and isinstance(item[2], str)
        ):
            raise ProtocolError(f"deltas.items: {item!r} is not [job_id, seq, text]")


@functools.cache
def _field_types(cls: type[Message]) -> dict[str, Any]:
    """The type of each field, read once per class (get_type_hints is slow)."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


@functools.cache
def _field_checks(cls: type[Message]) -> dict[str, Callable[[Any], bool]]:
    """A test per field, built once per class: a delta is checked for every token."""
    return {name: _check_for(hint) for name, hint in _field_types(cls).items()}


def _check_fields(cls: type[Message], data: dict[str, Any]) -> None:
    checks = _field_checks(cls)
    for name, value in data.items():
        if not checks[name](value):
            hint = _field_types(cls)[name]
            raise ProtocolError(f"{cls.TYPE}.{name}: {type(value).__name__} is not {hint}")


def _check_for(hint: Any) -> Callable[[Any], bool]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [_check_for(option) for option in get_args(hint)]
        return lambda value: any(check(value) for check in options)
    if hint is type(None):
        return lambda value: value is None
    if hint is float:
        return lambda value: isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    kind = origin or hint
    return lambda value: isinstance(value, kind)
