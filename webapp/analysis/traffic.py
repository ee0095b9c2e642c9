"""Access logs as per-window traffic features, for the attack classifier.

Two formats are read: nginx's `combined` and our own request log (one JSON object a line,
written by webapp.monitoring.requestlog). Lines in neither format are counted and skipped. The
requests are kept as integer columns (strings interned once) so a window's features are a few
numpy calls, whatever the request rate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np

WINDOW_S = 60
HISTORY_WINDOWS = 60  # an IP is "new" when unseen in the previous hour of the log
LOGIN_PATHS = ("/login", "/auth/login", "/api/login")
LOGIN_FAILED = (401, 403, 422, 429)
BOT_MARKERS = (
    "bot",
    "crawl",
    "spider",
    "python-requests",
    "python-urllib",
    "curl/",
    "wget/",
    "go-http-client",
    "scrapy",
    "httpclient",
    "libwww",
)
NAMES = (
    "log_rate",
    "log_rate_vs_usual",
    "log_unique_ips",
    "log_requests_per_ip",
    "ip_entropy_norm",
    "path_entropy",
    "agent_entropy",
    "top_ip_share",
    "new_ip_share",
    "error_share",
    "log_login_failures_per_s",
    "login_failure_share",
    "static_share",
    "bot_agent_share",
    "post_share",
)
CLASSES = ("normal", "bot", "stuffing", "flood")
CLASS_LABELS = {
    "normal": "обычный трафик",
    "bot": "бот или парсер",
    "stuffing": "подбор паролей (credential stuffing)",
    "flood": "флуд (DDoS)",
}

_COMBINED = re.compile(
    r'^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"'
)
_NGINX_TIME = "%d/%b/%Y:%H:%M:%S %z"


class Interner:
    """Strings to small integers, stable for the life of one Requests batch."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def __call__(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass
class Requests:
    """Requests as columns, sorted by time once built."""

    time: np.ndarray
    ip: np.ndarray
    path: np.ndarray
    agent: np.ndarray
    status: np.ndarray
    post: np.ndarray
    ips: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    skipped: int = 0
    read: int = 0

    def __len__(self) -> int:
        return len(self.time)


class Builder:
    """Collects parsed requests and turns them into a Requests batch."""

    def __init__(self) -> None:
        self.ip, self.path, self.agent = Interner(), Interner(), Interner()
        self.rows: list[tuple[float, int, int, int, int, bool]] = []
        self.skipped = 0

    def add(self, when: float, ip: str, method: str, path: str, status: int, agent: str) -> None:
        path = path.split("?", 1)[0][:200]
        self.rows.append(
            (when, self.ip(ip), self.path(path), self.agent(agent[:300]), status, method == "POST")
        )

    def build(self) -> Requests:
        rows = sorted(self.rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 6
        return Requests(
            time=np.asarray(columns[0], dtype=np.float64),
            ip=np.asarray(columns[1], dtype=np.int64),
            path=np.asarray(columns[2], dtype=np.int64),
            agent=np.asarray(columns[3], dtype=np.int64),
            status=np.asarray(columns[4], dtype=np.int64),
            post=np.asarray(columns[5], dtype=bool),
            ips=self.ip.values,
            paths=self.path.values,
            agents=self.agent.values,
            skipped=self.skipped,
            read=len(rows) + self.skipped,
        )


def _parse_json(line: str) -> tuple | None:
    try:
        row = json.loads(line)
        when = row["ts"]
        when = float(when) if isinstance(when, int | float) else _iso(when)
        return when, row["ip"], row["method"], row["path"], int(row["status"]), row.get("ua", "")
    except (ValueError, KeyError, TypeError):
        return None


def _iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_line(line: str) -> tuple | None:
    """(time, ip, method, path, status, agent) from a combined or JSON line, else None."""
    line = line.strip()
    if line.startswith("{"):
        return _parse_json(line)
    match = _COMBINED.match(line)
    if not match:
        return None
    try:
        when = datetime.strptime(match["time"], _NGINX_TIME).timestamp()
    except ValueError:
        return None
    return when, match["ip"], match["method"], match["path"], int(match["status"]), match["agent"]


def read_lines(lines: Iterable[str]) -> Requests:
    builder = Builder()
    for line in lines:
        if not line.strip():
            continue
        parsed = parse_line(line)
        if parsed is None:
            builder.skipped += 1
        else:
            builder.add(*parsed)
    return builder.build()


def tail_lines(path: Path, max_bytes: int) -> list[str]:
    """The whole lines within the last max_bytes of a file ([] when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if size > max_bytes else lines


def _entropy(counts: np.ndarray) -> float:
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _flags(strings: list[str], test) -> np.ndarray:
    return np.fromiter((test(s) for s in strings), dtype=bool, count=len(strings))


def is_login(path: str) -> bool:
    return path.rstrip("/").endswith(LOGIN_PATHS)


def is_bot(agent: str) -> bool:
    lowered = agent.lower()
    return not lowered or lowered == "-" or any(marker in lowered for marker in BOT_MARKERS)


@dataclass
class Windows:
    """Feature rows for consecutive windows, with each window's start and request count."""

    starts: np.ndarray
    counts: np.ndarray
    x: np.ndarray
    skipped: int = 0


def windows(requests: Requests, width: int = WINDOW_S) -> Windows:
    """One feature row per window of `width` seconds holding at least one request."""
    empty = Windows(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, len(NAMES)), np.float32))
    empty.skipped = requests.skipped
    if not len(requests):
        return empty
    login = _flags(requests.paths, is_login)[requests.path]
    static = _flags(requests.paths, lambda p: p.startswith("/static/"))[requests.path]
    bot = _flags(requests.agents, is_bot)[requests.agent]
    failed = login & requests.post & np.isin(requests.status, LOGIN_FAILED)
    slot = np.floor(requests.time / width).astype(np.int64)
    bounds = np.flatnonzero(np.diff(slot)) + 1
    edges = np.concatenate([[0], bounds, [len(slot)]])
    last_seen = np.full(len(requests.ips), -np.inf)
    rates: list[float] = []
    rows, starts, counts = [], [], []
    for a, b in pairwise(edges):
        n = b - a
        start = slot[a] * width
        rate = n / width
        usual = float(np.median(rates[-30:])) if len(rates) >= 3 else rate
        ips, per_ip = np.unique(requests.ip[a:b], return_counts=True)
        new = last_seen[ips] < start - HISTORY_WINDOWS * width
        last_seen[ips] = start
        ip_entropy = _entropy(per_ip)
        failures = int(failed[a:b].sum())
        rows.append(
            (
                math.log1p(rate),
                math.log((rate + 0.05) / (usual + 0.05)),
                math.log1p(len(ips)),
                math.log(n / len(ips)),
                ip_entropy / math.log2(len(ips)) if len(ips) > 1 else 0.0,
                _entropy(np.unique(requests.path[a:b], return_counts=True)[1]),
                _entropy(np.unique(requests.agent[a:b], return_counts=True)[1]),
                per_ip.max() / n,
                float(per_ip[new].sum()) / n,
                float((requests.status[a:b] >= 400).mean()),
                math.log1p(failures / width),
                failures / n,
                float(static[a:b].mean()),
                float(bot[a:b].mean()),
                float(requests.post[a:b].mean()),
            )
        )
        rates.append(rate)
        starts.append(start)
        counts.append(n)
    return Windows(
        np.asarray(starts, dtype=np.float64),
        np.asarray(counts, dtype=np.int64),
        np.asarray(rows, dtype=np.float32),
        requests.skipped,
    )


@dataclass(frozen=True)
class Verdict:
    start: float
    requests: int
    attack: float  # calibrated probability that the window is an attack of any class
    kind: str  # the most likely class (normal when attack < ALERT_AT)
    probabilities: dict[str, float]

    @property
    def label(self) -> str:
        return CLASS_LABELS[self.kind]


ALERT_AT = 0.9


def classify(found: Windows, models) -> list[Verdict]:
    """Each window's attack probability and class; [] when no classifier is loaded."""
    if models is None or models.traffic is None or not len(found.x):
        return []
    probabilities = models.traffic_probabilities(found.x)
    verdicts = []
    for start, count, p in zip(found.starts, found.counts, probabilities, strict=True):
        attack = float(1.0 - p[0])
        kind = CLASSES[1 + int(np.argmax(p[1:]))] if attack >= ALERT_AT else "normal"
        verdicts.append(
            Verdict(
                float(start),
                int(count),
                round(attack, 4),
                kind,
                {name: round(float(v), 4) for name, v in zip(CLASSES, p, strict=True)},
            )
        )
    return verdicts
