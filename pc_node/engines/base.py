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
    dropped: int = 0  # history turns left out to fit the context (pc_node.fit)


class Engine(Protocol):
    info: EngineInfo

    def stream(self, generation: Generation) -> Iterator[str]:
        """Yield text deltas until done, max_tokens or generation.cancel is set."""


def approximate_tokens(text: str) -> int:
    """For engines that cannot count (a remote server): generous for Russian and English BPE
    vocabularies (about 2.5-4 characters a token), so a prompt counted this way fits."""
    return len(text) * 2 // 5 + 1


def token_counter(engine: Engine):
    """The engine's own count of a text's tokens when it has one (count_tokens)."""
    return getattr(engine, "count_tokens", None) or approximate_tokens


class EngineError(RuntimeError):
    """The engine failed; `retryable` tells the VDS whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
