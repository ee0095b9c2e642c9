"""The WebSocket server class flask-sock uses, with whole-frame writes.

simple-websocket 1.1.0 writes each frame with socket.send(), which may write only part of it when
the client reads slowly (under gevent, with a full socket buffer): the rest is lost and the stream
is corrupt (miguelgrinberg/simple-websocket#45, fixed upstream after 1.1.0, not yet released).
Here every frame is written whole (send() until all of it is out) under one lock, so the
library's own reader thread (pongs, close frames) cannot slip bytes into the middle of one of our
frames either.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import flask_sock
import simple_websocket
from flask import request
from sqlalchemy.exc import OperationalError

from webapp.bus import BusUnavailable

log = logging.getLogger(__name__)
CLOSE_POLICY = 1008  # too many frames: the page's script reconnects after a pause
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_LATER = 1013  # the database or Redis is away: the page's script reconnects later
# The largest message each socket takes, enforced while it is read (simple-websocket closes with
# 1009 as soon as a message grows past it, before it is buffered whole). A chat frame is a
# message of at most a few thousand characters; a node's frames carry whole replies.
MAX_MESSAGE = {"/ws/chat/": 16 * 1024, "/node/ws": 256 * 1024}


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
        kwargs.setdefault("max_message_size", max_message_for(environ.get("PATH_INFO", "")))
        super().__init__(environ, **kwargs)
        self.sock = _WholeWrites(self.sock)


def max_message_for(path: str) -> int:
    return next(
        (size for prefix, size in MAX_MESSAGE.items() if path.startswith(prefix)),
        min(MAX_MESSAGE.values()),
    )


class FrameBudget:
    """A token bucket for one socket's incoming frames: `burst` at once, `rate` a second after."""

    def __init__(
        self, burst: float, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst, self.rate, self.clock = burst, rate, clock
        self.tokens = burst
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class GuardedSock(flask_sock.Sock):
    """flask-sock, but a socket handler that fails closes its socket with a close code: the
    connection is already upgraded, and the error page Flask would render must never be
    written into it as if it were still HTTP (a peer reads it as a broken frame)."""

    def route(self, path, bp=None, **kwargs):
        register = super().route(path, bp, **kwargs)

        def decorator(handler):
            @wraps(handler)
            def guarded(ws, *args, **kw):
                try:
                    return handler(ws, *args, **kw)
                except simple_websocket.ConnectionClosed:
                    raise
                except Exception as exc:
                    unavailable = _is_unavailable(exc)
                    log.log(
                        logging.WARNING if unavailable else logging.ERROR,
                        "socket %s ended: %s",
                        request.path,
                        exc,
                        exc_info=not unavailable,
                    )
                    code = CLOSE_TRY_LATER if unavailable else CLOSE_SERVER_ERROR
                    with contextlib.suppress(Exception):  # the peer may be gone already
                        ws.close(code, "unavailable" if unavailable else "server error")
                    return None

            return register(guarded)

        return decorator


def _is_unavailable(exc: Exception) -> bool:
    return isinstance(exc, BusUnavailable | OperationalError)


def install() -> None:
    flask_sock.Server = WholeFrameServer
