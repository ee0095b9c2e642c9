"""The durable queue from outside: ETAs against what people waited, and the time from a killed
web worker to the first token of a re-queued reply. A real server (gunicorn + gevent), a Redis of
its own, a scripted pc_node (fixed-length replies, named as such: tests.bench.fast_node).

python -m tests.bench.queue  ->  the figures as JSON
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC
from pathlib import Path

PEOPLE = 8
TOKENS, INTERVAL = 40, 0.05  # replies of 2 s on one slot: eight people wait up to 16 s
PLACE = re.compile(r"примерно (\d+) с")


def _queued_etas(server, person: dict, dialog_id: int, found: dict) -> None:
    """Send, then note the first ETA the page shows and when (wall time)."""
    from tests.faults.harness import chat_socket

    with chat_socket(server, person, dialog_id) as ws:
        ws.send(json.dumps({"message": "Сколько ждать?", "client_id": uuid.uuid4().hex}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                frame = ws.recv(timeout=1)
            except TimeoutError:
                continue
            shown = PLACE.search(frame)
            if shown:
                found[dialog_id] = (time.time(), int(shown.group(1)))
                return


def _finished_at(server, dialog_ids: list[int]) -> dict[int, float]:
    from sqlalchemy import select

    from webapp.chat.models import Message

    with server.sessions() as session:
        rows = session.execute(
            select(Message.dialog_id, Message.created_at).where(
                Message.dialog_id.in_(dialog_ids), Message.status == "done", Message.id > 0
            )
        ).all()
    last: dict[int, float] = {}
    for dialog_id, created_at in rows:  # the newest done message: the reply (greetings first)
        last[dialog_id] = max(last.get(dialog_id, 0.0), created_at.astimezone(UTC).timestamp())
    return last


def _eta_round(server, harness) -> list[float]:
    crowd = harness.people(server, PEOPLE)
    dialogs = [person["dialogs"][0] for person in crowd]
    shown: dict[int, tuple[float, int]] = {}
    threads = [
        threading.Thread(target=_queued_etas, args=(server, person, person["dialogs"][0], shown))
        for person in crowd
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    harness.assert_answered_once(server, dialogs)
    done = _finished_at(server, dialogs)
    return [abs(eta / max(done[d] - at, 0.1) - 1) for d, (at, eta) in shown.items() if done[d] > at]


def _requeue_after_kill(server, harness) -> float:
    """Seconds from a killed web worker's respawn until its reply runs again (claimed anew and
    sent to the node, whose first token follows within milliseconds)."""
    [person] = harness.people(server, 1)
    dialog_id = person["dialogs"][0]
    harness.send(server, person, dialog_id, "Долгий ответ, пожалуйста")
    time.sleep(0.5)
    [old] = harness.web_workers(server)
    os.kill(old, signal.SIGKILL)
    harness.wait_until(lambda: harness.web_workers(server) not in ([], [old]), seconds=30)
    respawned = time.monotonic()
    from sqlalchemy import select

    from webapp.inference.models import InferenceJob

    def streaming_again() -> bool:  # claimed again by the new worker: its first try is void
        with server.sessions() as session:
            attempts = session.scalars(
                select(InferenceJob.attempts).where(InferenceJob.state == "running")
            ).all()
        return any(n >= 2 for n in attempts)

    harness.wait_until(streaming_again, seconds=60)
    return time.monotonic() - respawned


def measure() -> dict[str, float]:
    from tests.faults import harness
    from tests.live import live_server

    errors: list[float] = []
    recovery: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mehhost-bench-queue-") as folder:
        instance = Path(folder)
        with harness.private_redis(instance) as (redis_url, _redis):
            env = {
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
                "RATELIMIT_ENABLED": "false",
            }
            with (
                live_server(instance, **env) as server,
                harness.scripted_node(server, capacity=1, tokens=TOKENS, interval=INTERVAL),
            ):
                _eta_round(server, harness)  # the first round teaches the speed
                for _ in range(3):
                    errors.extend(_eta_round(server, harness))
                # The lease (12 s) lapses, the new worker re-queues, the node has redialled.
                recovery.append(_requeue_after_kill(server, harness))
    return {
        "queue_eta_abs_error_median_ratio": round(statistics.median(errors), 3),
        "queue_eta_abs_error_p90_ratio": round(sorted(errors)[int(0.9 * (len(errors) - 1))], 3),
        "queue_eta_samples_count": len(errors),
        "queue_worker_kill_to_rerun_s": round(recovery[0], 2),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
