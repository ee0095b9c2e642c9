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


class RecordingGateway:
    """A fake HTTP gateway (Telegram Bot API, an SMS provider) on 127.0.0.1 that records every
    request and answers with `status` and `answer` (JSON), both changeable mid-test."""

    def __init__(self, answer: dict | None = None, status: int = 200) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict] = []
        self.answer = answer if answer is not None else {"ok": True}
        self.status = status
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                gateway.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(body) if body else None,
                    }
                )
                payload = json.dumps(gateway.answer).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _record  # noqa: N815 (http.server's method names)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSocket:
    """A chat socket's far end: what was sent to it, and how it was closed."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: tuple[int, str] | None = None

    def receive(self, timeout=None):
        return None

    def send(self, data: str) -> None:
        self.sent.append(data)

    def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
