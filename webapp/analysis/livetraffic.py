"""The access logs followed live: each round reads what was appended since the last one, turns
every window that has closed into features and classifies it.

A follower remembers its file's inode and offset, so rotation (a new inode) and truncation are
noticed and the new file is read from its start. A round reads at most READ_CAP bytes a file;
under a flood the rest is skipped (and counted), so the watch costs bounded time and memory
whatever the attacker sends. Requests of the window still open wait for the next round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from webapp.analysis import traffic

READ_CAP = 32 << 20  # bytes a file per round: a minute of a 1,500 requests/s flood fits
FIRST_READ = 4 << 20  # on start, the tail that gives the usual rate and the known IPs


@dataclass
class Follower:
    path: Path
    inode: int | None = None
    offset: int = 0
    dropped_bytes: int = 0  # skipped because a round had more than READ_CAP to read
    started: bool = False

    def read_new(self) -> list[str]:
        """The complete lines appended since the last call ([] when the file is missing)."""
        first, self.started = not self.started, True
        try:
            handle = self.path.open("rb")
        except OSError:
            return []
        with handle:
            size = os.fstat(handle.fileno()).st_size
            inode = os.fstat(handle.fileno()).st_ino
            jumped = False  # started mid-file: the first line read may be a tail of one
            if inode != self.inode or size < self.offset:
                # A file there when the watch starts: its recent tail. A file that appeared,
                # was rotated or truncated since: all of it.
                self.offset = max(0, size - FIRST_READ) if first else 0
                self.inode, jumped = inode, self.offset > 0
            if size - self.offset > READ_CAP:
                self.dropped_bytes += size - READ_CAP - self.offset
                self.offset, jumped = size - READ_CAP, True
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next round
        begin = data.find(b"\n") + 1 if jumped else 0
        self.offset += end
        return data[begin:end].decode("utf-8", "replace").splitlines() if end > begin else []


@dataclass
class TrafficWatch:
    """The live traffic classifier state of one process (the collector's)."""

    paths: tuple[Path, ...]
    width: int = traffic.WINDOW_S
    followers: list[Follower] = field(init=False)
    history: traffic.History = field(default_factory=traffic.History)
    pending: list[tuple] = field(default_factory=list)  # parsed requests of open windows
    closed_until: float = 0.0  # windows before this moment have been emitted
    skipped: int = 0  # lines in an unknown format
    late: int = 0  # lines for a window already emitted
    verdicts: list[traffic.Verdict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.followers = [Follower(path) for path in self.paths]

    def step(self, now: float, models) -> list[traffic.Verdict]:
        """Read the logs, classify the windows closed by `now`; return their verdicts."""
        rows = self.pending
        for follower in self.followers:
            for line in follower.read_new():
                if not line.strip():
                    continue
                parsed = traffic.parse_line(line)
                if parsed is None:
                    self.skipped += 1
                elif parsed[0] < self.closed_until:
                    self.late += 1
                else:
                    rows.append(parsed)
        cutoff = now // self.width * self.width
        ready = traffic.Builder()
        self.pending = []
        for row in rows:
            if row[0] < cutoff:
                ready.add(*row)
            else:
                self.pending.append(row)
        self.closed_until = max(self.closed_until, cutoff)
        found = traffic.windows(ready.build(), self.width, self.history)
        verdicts = traffic.classify(found, models)
        self.verdicts = (self.verdicts + verdicts)[-traffic.HISTORY_WINDOWS :]
        return verdicts

    def current(self, now: float) -> traffic.Verdict | None:
        """The verdict on the last closed window, when that window is recent."""
        if not self.verdicts:
            return None
        newest = self.verdicts[-1]
        return newest if newest.start >= now - 3 * self.width else None

    @property
    def dropped_bytes(self) -> int:
        return sum(f.dropped_bytes for f in self.followers)
