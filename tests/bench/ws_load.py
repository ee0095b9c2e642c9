"""100 chats streaming at once through one web process, with 1,000 idle sockets held open.

Each chat is one person on two devices: one sends, the other watches. Steady load: the chats
start over a few seconds (as people arrive, not in the same millisecond), and each sends, reads
the whole reply (10 s of streaming at 20 tokens/s), pauses and sends again, so about 100 replies
stream at once. Then a burst: all 100 press send in the same instant, the worst case, reported
apart. Figures: delta-to-client latency (node produced -> browser socket received, on both
devices), sync latency (device A sends -> device B shows it), P50/P95; and the web process's CPU
time per delta relayed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHATS = 100
IDLE = 1000
TOKENS = 200  # per reply of the steady phase; the burst's replies are 40 tokens
BURST_TOKENS = 40
INTERVAL = 0.05
RAMP_S = 5.0
ROUNDS = 2
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


async def _run(ws_url: str, origin: str, people: list[dict], mark) -> dict:
    """The load; mark(name) is called as each phase starts ("steady", "burst") and ends."""
    from websockets.asyncio.client import connect

    steady: dict[str, list[float]] = {"delta": [], "sync": []}
    burst: dict[str, list[float]] = {"delta": [], "sync": []}

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
    devices = []  # each chat's two devices, open and answered before the load starts
    for person in people:
        pair = [await open_socket(person["busy"], person["cookie"]) for _ in range(2)]
        for ws in pair:
            await ws.recv()
        devices.append(pair)
    mark("steady")

    async def watch(ws, marker: str, sent_at: float, into: dict, *, sync: bool) -> None:
        """Read one device's frames until the reply to `marker` is stored; note each delta's
        latency (and, for the watching device, when the sent message showed up)."""
        seen = not sync
        async for frame in ws:
            now = time.time()
            if not seen and marker in frame:
                into["sync"].append((now - sent_at) * 1000)
                seen = True
            # A frame may carry several fragments: count only the appended pieces.
            for piece in re.findall(r'beforeend:#b-\d+">([^<]*)<', frame):
                into["delta"].extend((now - float(stamp)) * 1000 for stamp in STAMP.findall(piece))
            if seen and FINISHED in frame:  # the stored reply replaces the streamed one
                return

    async def exchange(sender, viewer, marker: str, into: dict) -> None:
        sent_at = time.time()
        await sender.send(json.dumps({"message": marker, "client_id": marker[-40:]}))
        await asyncio.wait_for(
            asyncio.gather(
                watch(sender, marker, sent_at, into, sync=False),
                watch(viewer, marker, sent_at, into, sync=True),
            ),
            timeout=120,
        )

    async def chat(index: int, gate: asyncio.Event, ready: list) -> None:
        sender, viewer = devices[index]
        await asyncio.sleep(random.uniform(0, RAMP_S))
        for round_ in range(ROUNDS):
            await exchange(sender, viewer, f"steady-{index}-{round_}-{time.time()}", steady)
            await asyncio.sleep(random.uniform(0.5, 1.5))
        ready.append(index)
        if len(ready) == len(people):
            mark("burst")  # the node switches to short replies from here
            gate.set()
        await gate.wait()
        await exchange(sender, viewer, f"burst-{index}-{time.time()}", burst)
        await sender.close()
        await viewer.close()

    gate, ready = asyncio.Event(), []
    await asyncio.gather(*(chat(n, gate, ready) for n in range(len(people))))
    mark("end")
    for ws in idle:
        await ws.close()
    return {"steady": steady, "burst": burst}


def measure(percentile) -> dict[str, float]:
    import psutil

    from tests.live import BIN, ROOT, live_server

    instance = Path(tempfile.mkdtemp(prefix="mehhost-load-"))
    with live_server(
        instance, "--worker-connections", "3000", RATELIMIT_ENABLED="false", BCRYPT_ROUNDS="4"
    ) as server:
        people = _prepare(instance)
        switch = instance / "burst"  # the node's replies get short once this file exists
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
                f"{switch}:{BURST_TOKENS}",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes = [_web_worker(server), psutil.Process(node.pid)]
        marks: dict[str, tuple[float, ...]] = {}

        def mark(name: str) -> None:
            """Wall time and CPU seconds of the web worker, the node and this client."""
            if name == "burst":
                switch.touch()
            cpu = [sum(process.cpu_times()[:2]) for process in processes]
            marks[name] = (time.monotonic(), *cpu, time.process_time())

        try:
            time.sleep(2)
            found = asyncio.run(_run(server.ws_url, server.url, people, mark))
        finally:
            node.terminate()
            node.wait(timeout=10)
    steady, burst = found["steady"], found["burst"]
    if len(steady["sync"]) < CHATS * ROUNDS:
        print(f"load bench incomplete: {len(steady['sync'])} syncs", file=sys.stderr)
    # Over the steady phase only: opening the 1,000 idle sockets is not streaming.
    wall, web_cpu, node_cpu, client_cpu = (
        end - start for end, start in zip(marks["burst"], marks["steady"], strict=True)
    )
    return {
        "ws_chats_streaming_count": CHATS,
        "ws_idle_connections_count": IDLE,
        "ws_delta_to_client_p50_ms": round(statistics.median(steady["delta"]), 1),
        "ws_delta_to_client_p95_ms": round(percentile(steady["delta"], 0.95), 1),
        "ws_sync_between_devices_p50_ms": round(statistics.median(steady["sync"]), 1),
        "ws_sync_between_devices_p95_ms": round(percentile(steady["sync"], 0.95), 1),
        "ws_deltas_measured_count": len(steady["delta"]),
        "ws_burst_100_sends_sync_p95_ms": round(percentile(burst["sync"], 0.95), 1),
        "ws_burst_100_sends_delta_p95_ms": round(percentile(burst["delta"], 0.95), 1),
        "ws_web_cpu_percent_of_core": round(100 * web_cpu / wall, 1),
        "ws_web_cpu_ms_per_delta_delivered": round(1000 * web_cpu / len(steady["delta"]), 3),
        # The load's own makers share the machine: how much of it they took.
        "ws_scripted_node_cpu_percent_of_core": round(100 * node_cpu / wall, 1),
        "ws_client_cpu_percent_of_core": round(100 * client_cpu / wall, 1),
        "cpu_count": os.cpu_count(),
    }


def _web_worker(server):
    """The gunicorn worker serving the sockets (the master only supervises)."""
    import psutil

    master = psutil.Process(server.process.pid)
    return (master.children() or [master])[0]
