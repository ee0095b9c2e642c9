"""pc_node dials the real server (gunicorn + gevent + flask-sock) at /node/ws; jobs go through
Redis, as in production. Needs REDIS_URL (CI sets it)."""

from __future__ import annotations

import subprocess
import threading
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from pc_node.link import dial_forever
from pc_node.node import NodeRunner
from tests.conftest import TEST_REDIS_URL
from tests.fakes import ScriptedEngine
from tests.inference.test_node_link import collect
from tests.live import ai_state, live_server, tiny_node, wait_until
from webapp.bus import RedisBus
from webapp.inference import jobs
from webapp.inference.events import job_channel

pytestmark = pytest.mark.skipif(not TEST_REDIS_URL, reason="REDIS_URL is not set")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Our own Redis database and key prefix, so parallel runs and real data never mix.
    redis_url = TEST_REDIS_URL.rsplit("/", 1)[0] + "/15"
    prefix = f"node-e2e-{uuid.uuid4().hex[:8]}:"
    with live_server(
        tmp_path_factory.mktemp("node-e2e"), REDIS_URL=redis_url, REDIS_PREFIX=prefix
    ) as running:
        running.bus = RedisBus(redis_url, prefix)
        yield running
        keys = list(running.bus.client.scan_iter(prefix + "*"))
        if keys:
            running.bus.client.delete(*keys)


def node_key(server) -> str:
    return (server.instance / "node.key").read_text().strip()


def submit(server, max_tokens: int = 16):
    """Listen first, then submit: the dispatcher starts a job the moment it is submitted."""
    job_id = uuid.uuid4().hex
    listener = server.bus.subscribe(job_channel(job_id))
    with server.sessions() as session:
        jobs.submit(
            session,
            server.bus,
            job_id=job_id,
            user_id=int(uuid.uuid4().int % 10**6),
            kind="test",
            max_tokens=max_tokens,
            messages=[{"role": "user", "content": "Say hello in one word."}],
        )
        session.commit()
    return job_id, listener


def test_a_bad_key_is_refused_before_the_upgrade(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url + "/node/ws", additional_headers={"Authorization": "Bearer mhn_x"})
    assert refused.value.response.status_code == 401


def test_scripted_node_through_the_whole_server(server):
    stop = threading.Event()
    runner = NodeRunner(ScriptedEngine(["Здра", "вствуйте"]), node_id="e2e-fake")
    thread = threading.Thread(
        target=dial_forever,
        args=(server.ws_url + "/node/ws", node_key(server), runner, stop),
        daemon=True,
    )
    thread.start()
    try:
        wait_until(lambda: ai_state(server) == "online")
        _job_id, listener = submit(server)
        assert collect(listener)[-1]["text"] == "Здравствуйте"
    finally:
        stop.set()
        thread.join(timeout=10)
    wait_until(lambda: ai_state(server) == "offline", seconds=15)


def test_the_real_tiny_model_end_to_end(server):
    pytest.importorskip("llama_cpp", reason="make setup installs llama-cpp-python")
    with tiny_node(server, context_size=1024, stderr=subprocess.PIPE):
        _job_id, listener = submit(server, max_tokens=8)
        seen = collect(listener, seconds=60)
        done = seen[-1]
        assert done["event"] == "done", seen
        assert done["text"].strip() and 1 <= done["tokens"] <= 8
        assert "".join(e["text"] for e in seen if e["event"] == "delta") == done["text"]


def test_a_long_dialog_on_the_real_model_is_answered_not_overflowed(server):
    """Twenty messages of about 1,000 characters each are far past the tiny model's 2,048-token
    context: the node fits the prompt with its own tokenizer and the person gets an answer."""
    pytest.importorskip("llama_cpp", reason="make setup installs llama-cpp-python")
    from sqlalchemy import select

    from tests.faults.harness import people, send
    from webapp.chat.models import Dialog, Message

    [person] = people(server, 1)
    dialog_id = person["dialogs"][0]
    with server.sessions() as session:
        dialog = session.get(Dialog, dialog_id)
        for n in range(30):
            role = "user" if n % 2 == 0 else "assistant"
            text = f"Реплика {n}: " + "длинный рассказ о путешествии по горам и морям. " * 20
            session.add(Message(dialog_id=dialog_id, role=role, text=text[:1000], status="done"))
        dialog.message_count += 30
        session.commit()
    with tiny_node(server, context_size=2048):
        send(server, person, dialog_id, "Что было дальше?")

        def answered() -> str | None:
            with server.sessions() as session:
                return session.scalar(
                    select(Message.status)
                    .where(Message.dialog_id == dialog_id)
                    .order_by(Message.id.desc())
                    .limit(1)
                )

        wait_until(lambda: answered() in ("done", "error", "cancelled"), seconds=120)
        assert answered() == "done"
