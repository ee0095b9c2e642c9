"""Driving a live deployment from outside for the fault tests and the bench: a Redis of our own,
a scripted pc_node (tests.bench.fast_node, named as what it is), people and their chat sockets,
and what the database says about their dialogs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import psutil
from sqlalchemy import select
from websockets.sync.client import connect

from tests.conftest import free_port
from tests.live import ROOT, wait_for, wait_until
from webapp.chat.models import Message

BIN = os.path.dirname(sys.executable)
SETTLED_S = 90  # after a fault, every reply must have ended within this


class PrivateRedis:
    """A redis-server of the test's own, keeping nothing on disk; it can be restarted empty."""

    def __init__(self, directory) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        args = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        self.process = subprocess.Popen(
            ["redis-server", *args, "--dir", str(self.directory)], stdout=subprocess.DEVNULL
        )
        wait_until(lambda: _pings(self.port), seconds=10)

    def send_signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@contextmanager
def private_redis(directory):
    redis = PrivateRedis(directory)
    try:
        yield redis.url, redis
    finally:
        redis.stop()


def _pings(port: int) -> bool:
    import redis

    try:
        return redis.Redis(port=port, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False


@contextmanager
def scripted_node(
    server, *, capacity: int = 4, tokens: int = 20, interval: float = 0.05, ws_url: str = ""
):
    node = subprocess.Popen(
        [
            f"{BIN}/python",
            "-m",
            "tests.bench.fast_node",
            (ws_url or server.ws_url) + "/node/ws",
            str(server.instance / "node.key"),
            str(capacity),
            str(tokens),
            str(interval),
        ],
        cwd=ROOT,
        env=server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = (ws_url or server.ws_url).replace("ws://", "http://", 1)
        wait_until(lambda: health(server, base).get("ai") == "online", seconds=30)
        yield node
    finally:
        node.kill()
        node.wait()


def health(server, base: str = "") -> dict:
    try:
        return json.loads(wait_for((base or server.url) + "/healthz", seconds=5))
    except Exception:
        return {}


def people(server, count: int, dialogs: int = 1) -> list[dict]:
    done = subprocess.run(
        [f"{BIN}/python", "-m", "tests.faults.people", str(count), str(dialogs)],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def chat_socket(server, person: dict, dialog_id: int):
    """A device's chat socket, open and past its hello, as the page has it."""
    with connect(
        f"{server.ws_url}/ws/chat/{dialog_id}",
        origin=server.url,
        additional_headers={"Cookie": person["cookie"]},
        open_timeout=20,
    ) as ws:
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        ws.recv(timeout=20)
        yield ws


def send(server, person: dict, dialog_id: int, text: str, **action) -> None:
    """One device sends over the chat socket, as the page does, and hangs up."""
    with chat_socket(server, person, dialog_id) as ws:
        ws.send(json.dumps(action or {"message": text, "client_id": uuid.uuid4().hex}))
        ws.recv(timeout=20)  # the message is shown back: it is stored


def send_all(server, crowd: list[dict], text: str) -> None:
    """Each person sends `text` in their first dialog."""
    for person in crowd:
        send(server, person, person["dialogs"][0], text)


def dialog_messages(server, dialog_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    with server.sessions() as session:
        rows = session.execute(
            select(Message.dialog_id, Message.role, Message.status)
            .where(Message.dialog_id.in_(dialog_ids))
            .order_by(Message.id)
        ).all()
    found: dict[int, list[tuple[str, str]]] = {d: [] for d in dialog_ids}
    for dialog_id, role, status in rows:
        found[dialog_id].append((role, status))
    return found


def settled(server, dialog_ids: list[int]) -> bool:
    return all(
        status not in ("pending", "streaming")
        for messages in dialog_messages(server, dialog_ids).values()
        for _role, status in messages
    )


def assert_answered_once(server, dialog_ids: list[int], sent: int = 1) -> None:
    """Every dialog: its greeting, then each sent message followed by exactly one finished
    reply (none doubled, none lost, none failed)."""
    wait_until(lambda: settled(server, dialog_ids), seconds=SETTLED_S)
    for dialog_id, messages in dialog_messages(server, dialog_ids).items():
        roles = [role for role, _ in messages[1:]]
        assert roles == ["user", "assistant"] * sent, (dialog_id, messages)
        assert all(status == "done" for role, status in messages if role == "assistant"), (
            dialog_id,
            messages,
        )


def web_workers(server) -> list[int]:
    return [child.pid for child in psutil.Process(server.process.pid).children()]


def timed_health(server) -> tuple[float, int, dict]:
    import urllib.error
    import urllib.request

    started = time.monotonic()
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return time.monotonic() - started, status, json.loads(body)


def owners(server) -> int:
    from webapp.inference.models import NodeHeartbeat

    with server.sessions() as session:
        return len(set(session.scalars(select(NodeHeartbeat.owner)).all()))
