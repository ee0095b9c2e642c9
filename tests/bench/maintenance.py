"""Maintenance with 100 chat clients connected to a real server (gunicorn + gevent): the time of
each phase of the stop and of the recovery, for a planned, an emergency and a partial (AI only)
window. The clients answer the stop notice as the chat page does (the htmx ws extension sends
the notice's form with the draft) and record when their socket is closed.

The stop runs in this process, as the worker would, on the same database and Redis as the
server (a bus prefix of its own), so the broadcast really crosses processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

CLIENTS = 100
ACK_FORM = re.compile(r'name="window" value="(\d+)"')
KINDS = (("planned", "all"), ("emergency", "all"), ("partial", "ai"))
TARGETS_S = {"planned": (120, 180), "emergency": (30, 300), "partial": (45, 60)}


def _redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=2).close()
    except OSError:
        return False
    return True


def _people(app, count: int) -> list[dict]:
    from sqlalchemy import select

    from tests.factories import user as make_user
    from webapp.auth.sessions import start_session
    from webapp.characters.models import Character
    from webapp.chat.service import start_dialog
    from webapp.db import utcnow
    from webapp.extensions import db

    people = []
    with app.app_context(), db.new_session() as session:
        character = session.scalar(select(Character).limit(1))
        for n in range(count):
            user = make_user(session, app.extensions["mehhost.pii"], email=f"stop{n}@example.ru")
            _, tokens = start_session(
                session,
                app.extensions["mehhost.settings"],
                user,
                device="bench",
                ip="127.0.0.1",
                now=utcnow(),
            )
            dialog = start_dialog(session, user.id, character, utcnow())
            people.append({"cookie": f"mh_access={tokens.access}", "dialog": dialog.id})
        session.commit()
    return people


async def _clients(server, people: list[dict]):
    from websockets.asyncio.client import connect

    sockets = []
    for person in people:
        ws = await connect(
            f"{server.ws_url}/ws/chat/{person['dialog']}",
            origin=server.url,
            additional_headers={"Cookie": person["cookie"]},
            open_timeout=60,
        )
        await ws.send(json.dumps({"action": "hello", "last_id": 0}))
        await ws.recv()
        sockets.append(ws)
    return sockets


async def _listen(ws, acked: list[float], closed: list[float]) -> None:
    """Answer the notice like the page does; note when the server closes the socket."""
    try:
        async for frame in ws:
            found = ACK_FORM.search(frame)
            if found and 'value="maintenance_ack"' in frame:
                await ws.send(
                    json.dumps(
                        {"action": "maintenance_ack", "window": found.group(1), "message": "…"}
                    )
                )
                acked.append(time.perf_counter())
    except Exception:  # noqa: S110 - a closed socket ends the listener, as it should
        pass
    closed.append(time.perf_counter())


def _window(session, kind: str, scope: str):
    from webapp.maintenance.models import MaintenanceWindow, State

    now = datetime.now(UTC)
    window = MaintenanceWindow(
        kind=kind,
        scope=scope,
        state=State.SCHEDULED,
        starts_at=now,
        ends_at=now + timedelta(minutes=30),
        reason="bench",
        notices_sent="1h",  # so recovery tells people, as after a real notice
    )
    session.add(window)
    session.flush()
    return window


def _one(app, server, people: list[dict], kind: str, scope: str) -> dict[str, float]:
    from webapp.extensions import db
    from webapp.maintenance import emails as notices
    from webapp.maintenance import lifecycle, recovery

    settings = app.extensions["mehhost.settings"]
    bus = app.extensions["mehhost.bus"]
    cipher = app.extensions["mehhost.pii"]
    loop = asyncio.new_event_loop()
    sockets = loop.run_until_complete(_clients(server, people)) if scope == "all" else []
    acked: list[float] = []
    closed: list[float] = []
    listeners = [loop.create_task(_listen(ws, acked, closed)) for ws in sockets]
    figures: dict[str, float] = {}
    with app.test_request_context(base_url=settings.base_url), db.new_session() as session:
        window = _window(session, kind, scope)
        started = time.perf_counter()
        emails = notices.compose(
            session, cipher, window, "emergency" if kind == "emergency" else "planned"
        )
        figures[f"maintenance_{kind}_notices_ms"] = (time.perf_counter() - started) * 1000
        figures[f"maintenance_{kind}_emails_count"] = len(emails)

        stop_started = time.perf_counter()
        stopping = loop.run_in_executor(
            None,
            lambda: lifecycle.stop(
                session,
                bus,
                window,
                settings.maintenance_page_dir,
                datetime.now(UTC),
                expected=len(sockets),
            ),
        )
        loop.run_until_complete(stopping)
        stop_done = time.perf_counter()
        if listeners:
            loop.run_until_complete(asyncio.wait(listeners, timeout=60))
        figures[f"maintenance_{kind}_stop_s"] = stop_done - stop_started
        if sockets:
            needed = sorted(acked)[: max(1, int(len(sockets) * lifecycle.ACK_SHARE + 0.999))]
            figures[f"maintenance_{kind}_acks_95_ms"] = (needed[-1] - stop_started) * 1000
            figures[f"maintenance_{kind}_all_closed_ms"] = (max(closed) - stop_started) * 1000
            figures[f"maintenance_{kind}_acked_count"] = window.drained_sockets

        back_started = time.perf_counter()
        back, _told = recovery.run(session, bus, cipher, settings, window, datetime.now(UTC))
        figures[f"maintenance_{kind}_recovery_s"] = time.perf_counter() - back_started
        figures[f"maintenance_{kind}_recovered"] = int(back)
        session.commit()
    loop.close()
    stop_target, recovery_target = TARGETS_S[kind]
    figures[f"maintenance_{kind}_stop_target_s"] = stop_target
    figures[f"maintenance_{kind}_recovery_target_s"] = recovery_target
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def measure() -> dict[str, float]:
    from config.settings import load_settings
    from tests.live import live_server

    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not _redis_reachable(redis_url):
        return {"maintenance_bench_skipped_no_redis": 1}
    prefix = f"mehhost-bench-{os.getpid()}:"
    instance = Path(tempfile.mkdtemp(prefix="mehhost-stop-"))
    saved = {name: os.environ.get(name) for name in ("INSTANCE_PATH", "REDIS_URL", "REDIS_PREFIX")}
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": prefix}
    results: dict[str, float] = {"maintenance_clients_count": CLIENTS}
    try:
        with live_server(
            instance,
            "--worker-connections",
            "1000",
            RATELIMIT_ENABLED="false",
            BCRYPT_ROUNDS="4",
            **env,
        ) as server:
            os.environ.update(INSTANCE_PATH=str(instance), BCRYPT_ROUNDS="4", **env)
            from webapp import create_app

            app = create_app(load_settings())
            people = _people(app, CLIENTS)
            for kind, scope in KINDS:
                results.update(_one(app, server, people, kind, scope))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    waits = [results.get(f"maintenance_{k}_acks_95_ms") for k, _ in KINDS]
    results["maintenance_acks_95_median_ms"] = round(
        statistics.median([w for w in waits if w is not None]), 1
    )
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
