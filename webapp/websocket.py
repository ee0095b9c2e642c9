"""The WebSocket server class flask-sock uses, with whole-frame writes.

simple-websocket 1.1.0 writes each frame with socket.send(), which may write only part of it when
the client reads slowly (under gevent, with a full socket buffer): the rest is lost and the stream
is corrupt (miguelgrinberg/simple-websocket#45, fixed upstream after 1.1.0, not yet released).
Here every frame is written whole (send() until all of it is out) under one lock, so the
library's own reader thread (pongs, close frames) cannot slip bytes into the middle of one of our
frames either.
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
        # send() in a loop rather than sendall(): gevent's sendall asks the kernel for the
        # socket's buffer size (a getsockopt call) on every write, once per streamed token.
        view = memoryview(data)
        with self._lock:
            while view:
                view = view[self._sock.send(view) :]
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class WholeFrameServer(simple_websocket.Server):
    def __init__(self, environ: dict, **kwargs: Any) -> None:
        super().__init__(environ, **kwargs)
        self.sock = _WholeWrites(self.sock)


def install() -> None:
    flask_sock.Server = WholeFrameServer
