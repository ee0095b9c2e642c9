"""100 chats streaming at once through one web process, with 1,000 idle sockets held open.

Figures: delta-to-client latency (node produced -> browser socket received), sync latency
(device A sends -> device B shows it), both P50/P95.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHATS = 100
IDLE = 1000
TOKENS = 40
INTERVAL = 0.05
STAMP = re.compile(r"\[(\d+\.\d+)\]")
FINISHED = 'hx-swap-oob="true" class="msg msg-assistant"'


def _prepare(instance: Path, count: int = CHATS) -> list[dict]:
    """Users, device sessions and two dialogs each, written straight into the server's DB."""
    os.environ.update(INSTANCE_PATH=str(instance), BCRYPT_ROUNDS="4")
    from sqlalchemy import select

    from config.settings import load_settings
    from tests.factories import user as make_user
    from webapp import create_app
    from webapp.auth.sessions import start_session
    from webapp.characters.models import Character
    from webapp.chat.service import start_dialog
    from webapp.db import utcnow
    from webapp.extensions import db

    app = create_app(load_settings())
    people = []
    with app.app_context(), db.new_session() as session:
        character = session.scalar(select(Character).limit(1))
        for n in range(count):
            user = make_user(session, app.extensions["mehhost.pii"], email=f"load{n}@example.ru")
            _, tokens = start_session(
                session,
                app.extensions["mehhost.settings"],
                user,
                device="load",
                ip="127.0.0.1",
                now=utcnow(),
            )
            busy = start_dialog(session, user.id, character, utcnow())
            idle = start_dialog(session, user.id, character, utcnow())
            people.append(
                {"cookie": f"mh_access={tokens.access}", "busy": busy.id, "idle": idle.id}
            )
        session.commit()
    return people


async def _run(ws_url: str, origin: str, people: list[dict]) -> dict[str, list[float]]:
    from websockets.asyncio.client import connect

    delta_ms: list[float] = []
    sync_ms: list[float] = []

    async def open_socket(dialog_id: int, cookie: str):
        ws = await connect(
            f"{ws_url}/ws/chat/{dialog_id}",
            origin=origin,
            additional_headers={"Cookie": cookie},
            open_timeout=60,
            max_queue=None,
        )
        await ws.send(json.dumps({"action": "hello", "last_id": 0}))
        return ws

    idle = []
    for n in range(IDLE):
        person = people[n % len(people)]
        ws = await open_socket(person["idle"], person["cookie"])
        await ws.recv()  # its hello is answered: from now on it is really idle
        idle.append(ws)

    async def chat(person: dict, index: int) -> None:
        sender = await open_socket(person["busy"], person["cookie"])
        viewer = await open_socket(person["busy"], person["cookie"])
        marker = f"load-{index}-{time.time()}"
        sent_at = time.time()
        await sender.send(json.dumps({"message": marker, "client_id": marker[:40]}))

        async def watch_viewer() -> None:
            async for frame in viewer:
                if marker in frame:
                    sync_ms.append((time.time() - sent_at) * 1000)
                    return

        async def watch_sender() -> None:
            async for frame in sender:
                now = time.time()
                # A frame may carry several fragments: count only the appended pieces.
                for piece in re.findall(r'beforeend:#b-\d+">([^<]*)<', frame):
                    delta_ms.extend((now - float(stamp)) * 1000 for stamp in STAMP.findall(piece))
                if FINISHED in frame:  # the stored reply replaces the streamed one: done
                    return

        await asyncio.wait_for(asyncio.gather(watch_viewer(), watch_sender()), timeout=120)
        await sender.close()
        await viewer.close()

    await asyncio.gather(*(chat(person, n) for n, person in enumerate(people)))
    for ws in idle:
        await ws.close()
    return {"delta": delta_ms, "sync": sync_ms}


def measure(percentile) -> dict[str, float]:
    from tests.live import BIN, ROOT, live_server

    instance = Path(tempfile.mkdtemp(prefix="mehhost-load-"))
    with live_server(
        instance, "--worker-connections", "3000", RATELIMIT_ENABLED="false", BCRYPT_ROUNDS="4"
    ) as server:
        people = _prepare(instance)
        node = subprocess.Popen(
            [
                BIN / "python",
                "-m",
                "tests.bench.fast_node",
                server.ws_url + "/node/ws",
                str(instance / "node.key"),
                str(CHATS),
                str(TOKENS),
                str(INTERVAL),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(2)
            found = asyncio.run(_run(server.ws_url, server.url, people))
        finally:
            node.terminate()
            node.wait(timeout=10)
    delta, sync = found["delta"], found["sync"]
    if len(sync) < CHATS or len(delta) < CHATS * TOKENS:
        print(f"load bench incomplete: {len(sync)} syncs, {len(delta)} deltas", file=sys.stderr)
    return {
        "ws_chats_streaming_count": CHATS,
        "ws_idle_connections_count": IDLE,
        "ws_delta_to_client_p50_ms": round(statistics.median(delta), 1),
        "ws_delta_to_client_p95_ms": round(percentile(delta, 0.95), 1),
        "ws_sync_between_devices_p50_ms": round(statistics.median(sync), 1),
        "ws_sync_between_devices_p95_ms": round(percentile(sync, 0.95), 1),
        "ws_deltas_measured_count": len(delta),
    }
