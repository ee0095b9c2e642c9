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
import socket
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
LINGER_S = 2.0  # the longest a closed socket waits for its peer to close too


class _WholeWrites:
    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def close(self) -> None:
        """A lingering close (called by the library's reader when the connection ends): stop
        writing, then read and drop what the peer still sends until it closes or LINGER_S pass.
        Closing with unread bytes in the buffer (a client in the middle of a flood) would send a
        TCP reset, and the reset makes the peer drop our last frames unread: the notice and the
        close code (1008, 1009) would reach it as a bare 1006."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_S
            while (left := deadline - time.monotonic()) > 0:
                self._sock.settimeout(left)
                if not self._sock.recv(65536):
                    break
        except OSError:  # the peer is gone already, or it stayed silent: nothing more to wait for
            pass
        finally:
            self._sock.close()

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

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        """Send the close frame, then give the reader its lingering close (see _WholeWrites)
        before the handler returns: the server closes the connection right after that."""
        super().close(reason, message)
        if threading.current_thread() is not self.thread:
            self.thread.join(LINGER_S + 1)


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
