from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class EngineInfo:
    engine: str
    model: str
    context_size: int


@dataclass
class Generation:
    """What one job asks of an engine; `cancel` is set from another thread to stop early."""

    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float = 0.7
    stop: list[str] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    tokens: int = 0  # filled in by the engine as it goes
    finish_reason: str = "stop"


class Engine(Protocol):
    info: EngineInfo

    def stream(self, generation: Generation) -> Iterator[str]:
        """Yield text deltas until done, max_tokens or generation.cancel is set."""


class EngineError(RuntimeError):
    """The engine failed; `retryable` tells the VDS whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
