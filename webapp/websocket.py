"""The WebSocket server class flask-sock uses, with whole-frame writes.

simple-websocket 1.1.0 writes each frame with socket.send(), which may write only part of it when
the client reads slowly (under gevent, with a full socket buffer): the rest is lost and the stream
is corrupt (miguelgrinberg/simple-websocket#45, fixed upstream after 1.1.0, not yet released).
Here every write goes through sendall(), under one lock, so the library's own reader thread
(pongs, close frames) cannot slip bytes into the middle of one of our frames either.
"""

from __future__ import annotations

import threading
from typing import Any

import flask_sock
import simple_websocket


class _WholeWrites:
    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class WholeFrameServer(simple_websocket.Server):
    def __init__(self, environ: dict, **kwargs: Any) -> None:
        super().__init__(environ, **kwargs)
        self.sock = _WholeWrites(self.sock)


def install() -> None:
    flask_sock.Server = WholeFrameServer
