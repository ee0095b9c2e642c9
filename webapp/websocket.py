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
from functools import wraps
from typing import Any

import flask_sock
import simple_websocket
from flask import request
from sqlalchemy.exc import OperationalError

from webapp.bus import BusUnavailable

log = logging.getLogger(__name__)
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_LATER = 1013  # the database or Redis is away: the page's script reconnects later


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
