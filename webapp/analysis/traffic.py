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
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

import numpy as np
from flask_babel import lazy_gettext as _l

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
    "top_path_share",
    "static_ip_share",
    "new_ip_static_share",
    "failures_from_new_ips",
    "login_only_failing_ips",
)
CLASSES = ("normal", "bot", "stuffing", "flood")
CLASS_LABELS = {
    "normal": _l("обычный трафик"),
    "bot": _l("бот или парсер"),
    "stuffing": _l("подбор паролей (credential stuffing)"),
    "flood": _l("флуд (DDoS)"),
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

    @property
    def unique_ips(self) -> np.ndarray:
        return np.rint(np.expm1(self.x[:, NAMES.index("log_unique_ips")])).astype(np.int64)


RATE_MEMORY = 30  # windows behind "the usual rate"
SEEN_LIMIT = 200_000  # IPs remembered for "new IP" (a spoofed flood must not eat the memory)


@dataclass
class History:
    """What a window's features compare against: recent request rates and when each IP was
    last seen. One History follows one stream of windows (a file, or a live log across rounds)."""

    rates: deque = field(default_factory=lambda: deque(maxlen=RATE_MEMORY))
    last_seen: dict[str, float] = field(default_factory=dict)

    def usual_rate(self, rate: float) -> float:
        return float(np.median(self.rates)) if len(self.rates) >= 3 else rate

    def forget_before(self, moment: float) -> None:
        if len(self.last_seen) > SEEN_LIMIT:
            self.last_seen = {ip: t for ip, t in self.last_seen.items() if t >= moment}


def windows(requests: Requests, width: int = WINDOW_S, history: History | None = None) -> Windows:
    """One feature row per window of `width` seconds holding at least one request; `history`
    carries the comparison state over from earlier batches of the same stream."""
    history = history if history is not None else History()
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
    seen = history.last_seen
    last_seen = np.fromiter(
        (seen.get(ip, -np.inf) for ip in requests.ips), dtype=np.float64, count=len(requests.ips)
    )
    touched = np.zeros(len(requests.ips), dtype=bool)
    rows, starts, counts = [], [], []
    for a, b in pairwise(edges):
        n = b - a
        start = slot[a] * width
        rate = n / width
        usual = history.usual_rate(rate)
        ips, inverse, per_ip = np.unique(requests.ip[a:b], return_inverse=True, return_counts=True)
        new = last_seen[ips] < start - HISTORY_WINDOWS * width
        last_seen[ips] = start
        touched[ips] = True
        # Per address in the window: did it load the page assets, did it fail to log in, did
        # it do anything but log in. People load CSS and JS; floods and stuffing tools do not.
        loads_static = np.bincount(inverse, static[a:b], len(ips)) > 0
        failed_here = np.bincount(inverse, failed[a:b], len(ips))
        only_login = np.bincount(inverse, ~login[a:b], len(ips)) == 0
        failing = failed_here > 0
        failures = int(failed_here.sum())
        path_counts = np.unique(requests.path[a:b], return_counts=True)[1]
        rows.append(
            (
                math.log1p(rate),
                math.log((rate + 0.05) / (usual + 0.05)),
                math.log1p(len(ips)),
                math.log(n / len(ips)),
                _entropy(per_ip) / math.log2(len(ips)) if len(ips) > 1 else 0.0,
                _entropy(path_counts),
                _entropy(np.unique(requests.agent[a:b], return_counts=True)[1]),
                per_ip.max() / n,
                float(per_ip[new].sum()) / n,
                float((requests.status[a:b] >= 400).mean()),
                math.log1p(failures / width),
                failures / n,
                float(static[a:b].mean()),
                float(bot[a:b].mean()),
                float(requests.post[a:b].mean()),
                path_counts.max() / n,
                float(loads_static.mean()),
                float(loads_static[new].mean()) if new.any() else 1.0,
                float(failed_here[new].sum()) / failures if failures else 0.0,
                float(only_login[failing].mean()) if failures else 0.0,
            )
        )
        history.rates.append(rate)
        starts.append(start)
        counts.append(n)
    for index in np.flatnonzero(touched):
        seen[requests.ips[index]] = float(last_seen[index])
    history.forget_before(starts[-1] - HISTORY_WINDOWS * width)
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
    unique_ips: int
    attack: float  # calibrated probability that the window is an attack of any class
    kind: str  # the most likely class (normal when attack < ALERT_AT)
    probabilities: dict[str, float]

    @property
    def label(self) -> str:
        return CLASS_LABELS[self.kind]

    def as_dict(self) -> dict:
        return {
            "start": self.start,
            "requests": self.requests,
            "unique_ips": self.unique_ips,
            "attack": self.attack,
            "class": self.kind,
            "probabilities": self.probabilities,
        }


ALERT_AT = 0.9


def classify(found: Windows, models) -> list[Verdict]:
    """Each window's attack probability and class; [] when no classifier is loaded."""
    if models is None or models.traffic is None or not len(found.x):
        return []
    probabilities = models.traffic_probabilities(found.x)
    verdicts = []
    rows = zip(found.starts, found.counts, found.unique_ips, probabilities, strict=True)
    for start, count, ips, p in rows:
        attack = float(1.0 - p[0])
        kind = CLASSES[1 + int(np.argmax(p[1:]))] if attack >= ALERT_AT else "normal"
        verdicts.append(
            Verdict(
                float(start),
                int(count),
                int(ips),
                round(attack, 4),
                kind,
                {name: round(float(v), 4) for name, v in zip(CLASSES, p, strict=True)},
            )
        )
    return verdicts
