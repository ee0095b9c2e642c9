"""Our own request log: one JSON object a line for every request the app answers.

It feeds the traffic watch (webapp.analysis.livetraffic) where no nginx log is at hand, and it
is the record of what reached the app behind the proxy. Lines are written with one os.write on
an O_APPEND descriptor, so the processes sharing the file never interleave inside a line. The
file is reopened when something (logrotate, or our own size cap) has moved it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, g, request

log = logging.getLogger(__name__)
MAX_BYTES = 64 << 20  # past this the file becomes <name>.1 (one generation kept)
CHECK_EVERY_S = 1.0


class RequestLog:
    def __init__(
        self, path: Path, max_bytes: int = MAX_BYTES, check_every_s: float = CHECK_EVERY_S
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.check_every_s = check_every_s
        self._fd: int | None = None
        self._inode: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._failed = False

    def write(self, row: dict) -> None:
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            os.write(self._descriptor(), line.encode("utf-8"))
            self._failed = False
        except OSError as exc:
            if not self._failed:  # once per failure streak, not once per request
                log.warning("request log %s not written: %s", self.path, exc)
            self._failed = True
            self._close()

    def _descriptor(self) -> int:
        now = time.monotonic()
        if self._fd is not None and now - self._checked < self.check_every_s:
            return self._fd
        with self._lock:
            self._checked = now
            try:
                status = self.path.stat()
            except FileNotFoundError:
                status = None
            if status is not None and status.st_size > self.max_bytes:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                status = None
            if self._fd is None or status is None or status.st_ino != self._inode:
                self._close()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                self._inode = os.fstat(self._fd).st_ino
            return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def install(app: Flask, path: Path | None) -> None:
    """Log every request of `app` to `path` (nothing when it is None)."""
    if path is None:
        return
    request_log = RequestLog(path)

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        request_log.write(
            {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "ip": request.remote_addr or "-",
                "method": request.method,
                "path": request.path[:200],
                "status": response.status_code,
                "ua": (request.user_agent.string or "")[:300],
                "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            }
        )
        return response
