"""Who has a chat socket open: counted per process, shared through a ring on the bus."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

from webapp.bus import Bus

PRESENCE_KEY = "presence"
FRESH_S = 30  # a process that has not reported for this long is gone


class OpenSockets:
    """This process's open chat sockets by user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: Counter[int] = Counter()

    def opened(self, user_id: int) -> None:
        with self._lock:
            self._users[user_id] += 1

    def closed(self, user_id: int) -> None:
        with self._lock:
            self._users[user_id] -= 1
            if self._users[user_id] <= 0:
                del self._users[user_id]

    def snapshot(self) -> dict[int, int]:
        with self._lock:
            return dict(self._users)


OPEN_SOCKETS = OpenSockets()


def report(bus: Bus, now: float | None = None, process: str | None = None) -> None:
    users = OPEN_SOCKETS.snapshot()
    bus.append(
        PRESENCE_KEY,
        {
            "process": process or f"{os.uname().nodename}:{os.getpid()}",
            "at": now or time.time(),
            "sockets": sum(users.values()),
            "users": sorted(users),
        },
        keep=256,
    )


def online(bus: Bus, now: float | None = None) -> tuple[int, set[int]]:
    """(open sockets, user ids) over every process that reported lately."""
    now = now or time.time()
    newest: dict[str, dict] = {}
    for entry in bus.recent(PRESENCE_KEY):
        if now - entry["at"] <= FRESH_S:
            newest[entry["process"]] = entry
    users: set[int] = set()
    for entry in newest.values():
        users.update(entry["users"])
    return sum(entry["sockets"] for entry in newest.values()), users
