"""Generated access traffic for training and replaying the attack classifier.

A scenario is some calm minutes of real users followed by an event: more of the same (calm),
a flash crowd of real users (labelled normal: it must not alarm), a bot or scraper, credential
stuffing (fast or slow, from rotating proxies) or a flood (from one host to thousands). Each
component is a Poisson stream per window, generated as numpy columns, so a flood of hundreds of
requests a second costs no Python loop per request. `to_lines` writes a scenario as nginx
`combined` lines or as our JSON request log, for replay through the parsers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from webapp.analysis.traffic import WINDOW_S, Interner, Requests

BROWSERS = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Mobile Safari/537.36 YaBrowser/24.10",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/128.0.0.0 Mobile Safari/537.36",
)
BOTS = (
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "python-requests/2.32.3",
    "Scrapy/2.11 (+https://scrapy.org)",
    "Go-http-client/1.1",
    "curl/8.5.0",
)
# (path pattern, share, statuses and their weights): what a signed-in reader does.
USER_PATHS = (
    ("/", 0.08, (200,)),
    ("/characters", 0.12, (200,)),
    ("/characters/{n}", 0.12, (200,)),
    ("/chat/{n}", 0.2, (200,)),
    ("/chat/{n}/messages", 0.1, (200,)),
    ("/ws/chat", 0.05, (101,)),
    ("/favorites", 0.04, (200,)),
    ("/static/app.css", 0.08, (200, 304)),
    ("/static/app.js", 0.08, (200, 304)),
    ("/static/htmx.min.js", 0.07, (200, 304)),
    ("/auth/login", 0.03, (200,)),
    ("/nothing-here", 0.01, (404,)),
    ("/account", 0.02, (200, 302)),
)
VISITOR_PATHS = (
    ("/", 0.25, (200, 503)),
    ("/characters", 0.15, (200, 503)),
    ("/characters/{n}", 0.15, (200,)),
    ("/register", 0.1, (200, 302, 422)),
    ("/static/app.css", 0.11, (200,)),
    ("/static/app.js", 0.11, (200,)),
    ("/static/htmx.min.js", 0.11, (200,)),
    ("/auth/login", 0.02, (200,)),
)
FLOOD_TARGETS = ("/", "/characters", "/auth/login", "/search", "/chat/1/messages", "/healthz")
KINDS = ("calm", "flash", "bot", "stuffing", "flood")
# Training takes the kinds in this turn: attacks and flash crowds (the hard normal case) twice.
TRAINING_TURN = ("calm", "flash", "bot", "stuffing", "flood", "flash", "stuffing", "flood")
LABEL = {"calm": 0, "flash": 0, "bot": 1, "stuffing": 2, "flood": 3}


@dataclass
class Scenario:
    requests: Requests
    event_at: float  # the first second of the event (windows from here carry its label)
    kind: str

    def labels(self, starts: np.ndarray) -> np.ndarray:
        event = LABEL[self.kind]
        return np.where(starts >= self.event_at, event, 0)


class _Columns:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.paths, self.agents = Interner(), Interner()
        self.next_ip = 0

    def new_ips(self, count: int) -> np.ndarray:
        made = np.arange(self.next_ip, self.next_ip + count)
        self.next_ip += count
        return made

    def add(self, time, ip, path, agent, status, post) -> None:
        self.parts.append((time, ip, path, agent, status, post))

    def build(self) -> Requests:
        columns = [np.concatenate(c) for c in zip(*self.parts, strict=True)]
        order = np.argsort(columns[0])
        time, ip, path, agent, status, post = (c[order] for c in columns)
        return Requests(
            time=time.astype(np.float64),
            ip=ip.astype(np.int64),
            path=path.astype(np.int64),
            agent=agent.astype(np.int64),
            status=status.astype(np.int64),
            post=post.astype(bool),
            ips=[_ip_text(n) for n in range(self.next_ip)],
            paths=self.paths.values,
            agents=self.agents.values,
            read=len(time),
        )


def _ip_text(n: int) -> str:
    return f"{10 + n % 200}.{(n * 7) % 256}.{(n // 256) % 256}.{n % 256}"


def _times(rng, rates: np.ndarray, start: float) -> np.ndarray:
    """Poisson arrivals with one rate (per second) per window."""
    counts = rng.poisson(np.maximum(rates, 0) * WINDOW_S)
    window = np.repeat(np.arange(len(rates)), counts)
    return start + (window + rng.random(counts.sum())) * WINDOW_S


def _paths(rng, columns: _Columns, table, count: int, n_max: int = 400):
    shares = np.array([share for _, share, _ in table])
    choice = rng.choice(len(table), size=count, p=shares / shares.sum())
    numbers = rng.integers(1, n_max, size=count)
    path = np.empty(count, dtype=np.int64)
    status = np.empty(count, dtype=np.int64)
    for index, (pattern, _, statuses) in enumerate(table):
        chosen = choice == index
        if not chosen.any():
            continue
        if "{n}" in pattern:
            unique, inverse = np.unique(numbers[chosen], return_inverse=True)
            path[chosen] = np.array([columns.paths(pattern.format(n=n)) for n in unique])[inverse]
        else:
            path[chosen] = columns.paths(pattern)
        weights = np.array([9.0] + [1.0] * (len(statuses) - 1))  # mostly the first
        status[chosen] = rng.choice(statuses, size=int(chosen.sum()), p=weights / weights.sum())
    return path, status


def _users(rng, columns, rates, start, pool, agents, table, failed_login_rate) -> None:
    """Real people: requests spread over a pool of (ip, agent) pairs, a few failed logins."""
    time = _times(rng, rates, start)
    person = rng.integers(0, len(pool), size=len(time))
    path, status = _paths(rng, columns, table, len(time))
    columns.add(time, pool[person], path, agents[person], status, np.zeros(len(time), bool))
    failures = _times(rng, np.full(len(rates), failed_login_rate) * (rates > 0), start)
    who = rng.integers(0, len(pool), size=len(failures))
    login = columns.paths("/auth/login")
    columns.add(
        failures,
        pool[who],
        np.full(len(failures), login),
        agents[who],
        np.full(len(failures), 422),
        np.ones(len(failures), bool),
    )


def _browser_agents(rng, columns, count: int) -> np.ndarray:
    ids = np.array([columns.agents(a) for a in BROWSERS])
    return ids[rng.integers(0, len(ids), size=count)]


def generate(
    kind: str,
    rng: np.random.Generator,
    *,
    minutes: int = 12,
    calm: int = 6,
    users: int | None = None,
    **event,
) -> Scenario:
    """`calm` quiet minutes, then `minutes - calm` of the event `kind` (see KINDS).

    Unnamed parameters are drawn at random: `users` (active people), and per event `growth`
    (flash), `rate` (requests or login attempts a second) and `hosts` (attacking IPs)."""
    columns = _Columns()
    start = 1_767_225_600.0 + float(rng.integers(0, 86_400 * 300)) // WINDOW_S * WINDOW_S
    event_at = start + calm * WINDOW_S
    users = users or int(rng.integers(5, 400))
    per_user = rng.uniform(0.03, 0.15)  # requests a second per active person
    pool = columns.new_ips(max(2, int(users * rng.uniform(0.6, 1.0))))  # some share a NAT
    agents = _browser_agents(rng, columns, len(pool))
    base = np.full(minutes, users * per_user) * rng.uniform(0.85, 1.15, size=minutes)
    failed = users * rng.uniform(0.0, 0.0001)  # failed logins a second among real users
    _users(rng, columns, base, start, pool, agents, USER_PATHS, failed)
    after = np.arange(minutes) >= calm
    length = int(after.sum())
    if kind == "flash":
        growth = event.get("growth") or rng.uniform(4, 40)
        ramp = np.clip((np.arange(length) + 1) / rng.integers(1, 4), 0, 1)
        visitors = columns.new_ips(int(users * growth))
        visitor_agents = _browser_agents(rng, columns, len(visitors))
        rates = np.zeros(minutes)
        rates[after] = users * growth * ramp * rng.uniform(0.05, 0.2)
        _users(rng, columns, rates, start, visitors, visitor_agents, VISITOR_PATHS, failed * 3)
    elif kind == "bot":
        _bot(rng, columns, after, start, **event)
    elif kind == "stuffing":
        _stuffing(rng, columns, after, start, **event)
    elif kind == "flood":
        _flood(rng, columns, after, start, float(base.mean()), **event)
    return Scenario(columns.build(), event_at, kind)


def _bot(rng, columns, after, start, hosts=None, rate=None) -> None:
    hosts = columns.new_ips(hosts or int(rng.integers(1, 9)))
    stealthy = rng.random() < 0.4
    agent = columns.agents(
        BROWSERS[rng.integers(len(BROWSERS))] if stealthy else BOTS[rng.integers(len(BOTS))]
    )
    time = _times(rng, after * (rate or rng.uniform(0.3, 12)), start)
    pattern = ("/characters/{n}", "/chat/{n}", "/u/{n}", "/characters/{n}/versions")
    numbers = np.cumsum(rng.integers(1, 3, size=len(time)))  # walks the ids in order
    path = np.array([columns.paths(pattern[n % len(pattern)].format(n=n)) for n in numbers])
    status = rng.choice([200, 302, 403, 404], size=len(time), p=[0.55, 0.2, 0.1, 0.15])
    columns.add(
        time,
        hosts[rng.integers(0, len(hosts), len(time))],
        path,
        np.full(len(time), agent),
        status,
        np.zeros(len(time), bool),
    )


def _stuffing(rng, columns, after, start, hosts=None, rate=None) -> None:
    proxies = columns.new_ips(hosts or int(rng.integers(20, 3000)))
    rate = rate or float(np.exp(rng.uniform(np.log(0.1), np.log(10))))  # slow to fast attempts
    time = _times(rng, after * rate, start)
    if rng.random() < 0.5:
        agents = _browser_agents(rng, columns, len(time))
    else:
        agents = np.full(len(time), columns.agents(BROWSERS[rng.integers(len(BROWSERS))]))
    login = columns.paths("/auth/login")
    status = rng.choice([422, 429, 302], size=len(time), p=[0.9, 0.08, 0.02])
    who = proxies[rng.integers(0, len(proxies), len(time))]
    columns.add(time, who, np.full(len(time), login), agents, status, np.ones(len(time), bool))
    if rng.random() < 0.5:  # tools that fetch the form first
        fetched = np.maximum(time - 0.5, start + np.floor((time - start) / WINDOW_S) * WINDOW_S)
        columns.add(
            fetched,
            who,
            np.full(len(time), login),
            agents,
            np.full(len(time), 200),
            np.zeros(len(time), bool),
        )


def _flood(rng, columns, after, start, usual: float, hosts=None, rate=None) -> None:
    if not hosts:  # a few machines, or a botnet of hundreds to thousands
        low, high = (1, 50) if rng.random() < 0.3 else (50, 8000)
        hosts = int(np.exp(rng.uniform(np.log(low), np.log(high))))
    hosts = columns.new_ips(hosts)
    # From 20 to 1,500 requests a second whatever the hosts: a big botnet at a modest rate sends
    # each address's few requests a minute, like a person, and must be seen as a flood too.
    rate = rate or min(
        1500.0, max(2.5 * usual, float(np.exp(rng.uniform(np.log(20), np.log(1500)))))
    )
    time = _times(rng, after * rate, start)
    targets = [columns.paths(t) for t in rng.choice(FLOOD_TARGETS, size=rng.integers(1, 4))]
    path = np.array(targets)[rng.integers(0, len(targets), len(time))]
    spread = rng.integers(1, len(BOTS) + len(BROWSERS))
    agent_pool = np.array([columns.agents(a) for a in (BOTS + BROWSERS)[:spread]])
    agents = agent_pool[rng.integers(0, len(agent_pool), len(time))]
    refused = rng.uniform(0, 0.6)
    status = np.where(rng.random(len(time)) < refused, rng.choice([429, 503]), 200)
    post = np.full(len(time), rng.random() < 0.2)
    columns.add(time, hosts[rng.integers(0, len(hosts), len(time))], path, agents, status, post)


def to_lines(requests: Requests, fmt: str = "combined") -> list[str]:
    """The requests as nginx combined lines or as our JSON request log."""
    lines = []
    for i in range(len(requests)):
        when = datetime.fromtimestamp(requests.time[i], UTC)
        ip = requests.ips[requests.ip[i]]
        method = "POST" if requests.post[i] else "GET"
        path, agent = requests.paths[requests.path[i]], requests.agents[requests.agent[i]]
        status = int(requests.status[i])
        if fmt == "json":
            lines.append(
                json.dumps(
                    {
                        "ts": when.isoformat(),
                        "ip": ip,
                        "method": method,
                        "path": path,
                        "status": status,
                        "ua": agent,
                    }
                )
            )
        else:
            stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
            lines.append(
                f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} 512 "-" "{agent}"'
            )
    return lines
