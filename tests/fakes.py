"""Named fakes for tests: a scripted engine standing in for llama.cpp."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from pc_node.engines.base import EngineError, EngineInfo, Generation


class ScriptedEngine:
    """A fake engine that streams a fixed reply, token by token.

    `gate`, when given, must be set before each token is produced, so a test decides exactly when
    the "model" moves on; `fail_with` makes the next job raise an EngineError instead.
    """

    def __init__(
        self,
        reply: list[str] | None = None,
        *,
        delay: float = 0.0,
        gate: threading.Semaphore | None = None,
        model: str = "scripted-fake",
    ) -> None:
        self.reply = reply or ["При", "вет", "!"]
        self.delay = delay
        self.gate = gate
        self.fail_with: EngineError | None = None
        self.seen: list[list[dict[str, str]]] = []
        self.finished: list[str] = []  # finish_reason of every generation that ended
        self.info = EngineInfo("scripted-fake", model, 2048)

    def stream(self, generation: Generation) -> Iterator[str]:
        try:
            yield from self._stream(generation)
        finally:
            self.finished.append(generation.finish_reason)

    def _stream(self, generation: Generation) -> Iterator[str]:
        self.seen.append(generation.messages)
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        for piece in self.reply[: generation.max_tokens]:
            if self.gate is not None:
                while not self.gate.acquire(timeout=0.05):
                    if generation.cancel.is_set():
                        generation.finish_reason = "cancelled"
                        return
            if generation.cancel.is_set():
                generation.finish_reason = "cancelled"
                return
            if self.delay:
                time.sleep(self.delay)
            generation.tokens += 1
            yield piece
        generation.finish_reason = "stop" if generation.max_tokens >= len(self.reply) else "length"
