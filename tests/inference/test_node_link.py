"""pc_node and the VDS over real WebSockets, in tunnel mode (the VDS dials the listening node)."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from sqlalchemy.orm import sessionmaker

from pc_node import protocol
from pc_node.link import dial_forever, listen
from pc_node.node import NodeRunner
from tests.conftest import free_port
from tests.fakes import ScriptedEngine
from tests.live import wait_until
from tests.schema import reset_schema
from webapp.bus import InProcessBus
from webapp.db import make_engine
from webapp.inference import jobs
from webapp.inference.dial import dial_node
from webapp.inference.dispatcher import Dispatcher, DispatcherConfig
from webapp.inference.events import job_channel
from webapp.inference.models import InferenceJob

KEY = "mhn_test-key-for-the-tunnel"


def collect(subscription, until: str = "done", seconds: float = 10.0) -> list[dict]:
    found: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        item = subscription.get(timeout=0.1)
        if item is None:
            continue
        found.append(item[1])
        if item[1]["event"] in (until, "error"):
            return found
    raise AssertionError(f"no {until!r} event; got {found}")


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """A queue database of this module's own (a file, with real commits): the dispatcher runs
    in threads here, as in a web process."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('queue') / 'queue.db'}")
    reset_schema(engine)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def dispatcher(sessions):
    config = DispatcherConfig(link_timeout=3, ping_every=0.5, poll_every=0.02)
    d = Dispatcher(InProcessBus(), sessions, config)
    d.start()
    yield d
    d.stop()


class Tunnel:
    """A listening pc_node and the VDS side dialing it, both in threads."""

    def __init__(self, dispatcher: Dispatcher, engine: ScriptedEngine, key: str = KEY) -> None:
        self.port = free_port()
        self.engine = engine
        self.dispatcher = dispatcher
        self.key = key
        self.stop = threading.Event()
        self.server = None
        self.start_node()
        self.dialer = threading.Thread(
            target=dial_node,
            args=(f"ws://127.0.0.1:{self.port}/", key, dispatcher, self.stop),
            daemon=True,
        )
        self.dialer.start()

    def start_node(self) -> None:
        runner = NodeRunner(self.engine, node_id="tunnel-pc")
        self.server = listen("127.0.0.1", self.port, KEY, runner)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop_node(self) -> None:
        self.server.shutdown()

    def close(self) -> None:
        self.stop.set()
        self.stop_node()
        self.dialer.join(timeout=10)


@pytest.fixture
def tunnel(dispatcher):
    made = []

    def make(engine=None, key=KEY):
        made.append(Tunnel(dispatcher, engine or ScriptedEngine(), key))
        return made[-1]

    yield make
    for tunnel in made:
        tunnel.close()


def submit(dispatcher, user=1, max_tokens=16):
    """Listen first, then submit: the dispatcher starts a job the moment it is submitted."""
    job_id = uuid.uuid4().hex
    listener = dispatcher.bus.subscribe(job_channel(job_id))
    with dispatcher.sessions() as session:
        jobs.submit(
            session,
            dispatcher.bus,
            job_id=job_id,
            user_id=user,
            kind="test",
            max_tokens=max_tokens,
            messages=[{"role": "user", "content": "Привет"}],
        )
        session.commit()
    return job_id, listener


def test_tunnel_mode_handshake_and_a_streamed_job(dispatcher, tunnel):
    tunnel()
    wait_until(lambda: dispatcher.links)
    hello = dispatcher.links[0].hello
    assert (hello.node_id, hello.engine, hello.capacity) == ("tunnel-pc", "scripted-fake", 1)
    _job_id, listener = submit(dispatcher)
    seen = collect(listener)
    assert [e["event"] for e in seen if e["event"] != "queued"] == [
        "started",
        "delta",
        "delta",
        "delta",
        "done",
    ]
    assert seen[-1]["text"] == "Привет!"
    assert seen[-1]["tokens"] == 3


def refusals(caplog) -> list[str]:
    """What the dialing side logged of links refused or lost (pc_node.link.keep_dialing)."""
    return [r.getMessage() for r in caplog.records if "lost or refused" in r.getMessage()]


def test_a_wrong_key_gets_no_link(dispatcher, tunnel, caplog):
    caplog.set_level(logging.WARNING, logger="pc_node.link")
    tunnel(key="mhn_wrong")
    wait_until(lambda: refusals(caplog))  # the node answered the dial, and said no
    assert "401" in refusals(caplog)[0]
    assert dispatcher.links == []


def test_a_job_submitted_while_offline_runs_when_the_node_comes(dispatcher, tunnel):
    job_id, listener = submit(dispatcher)
    with dispatcher.sessions() as session:
        assert session.get(InferenceJob, job_id).state == "queued"  # kept for a node to come
    assert dispatcher.links == []
    tunnel()
    assert collect(listener)[-1]["text"] == "Привет!"


def test_stop_cancels_generation_on_the_node(dispatcher, tunnel):
    gate = threading.Semaphore(0)
    engine = ScriptedEngine(["раз", "два", "три"], gate=gate)
    tunnel(engine)
    wait_until(lambda: dispatcher.links)
    job_id, listener = submit(dispatcher)
    gate.release()
    assert collect(listener, until="delta")[-1]["text"] == "раз"
    with dispatcher.sessions() as session:
        jobs.cancel(session, dispatcher.bus, job_id)
        session.commit()
    assert collect(listener, until="cancelled")[-1]["event"] == "cancelled"
    wait_until(lambda: engine.finished == ["cancelled"])  # the node really stopped
    _other_id, other = submit(dispatcher, user=2)  # the node is free for the next person
    for _ in range(3):
        gate.release()
    assert collect(other)[-1]["text"] == "раздватри"


def test_a_node_restart_mid_job_retries_the_job(dispatcher, tunnel):
    gate = threading.Semaphore(0)
    link = tunnel(ScriptedEngine(["а", "б"], gate=gate))
    wait_until(lambda: dispatcher.links)
    _job_id, listener = submit(dispatcher)
    gate.release()
    collect(listener, until="delta")
    link.stop_node()
    assert collect(listener, until="restart")[-1]["event"] == "restart"
    link.start_node()
    for _ in range(4):
        gate.release()
    assert collect(listener, seconds=20)[-1]["text"] == "аб"


def test_pc_node_dials_again_with_backoff_after_a_refused_connection(caplog):
    caplog.set_level(logging.WARNING, logger="pc_node.link")
    """Nothing listens at first; once something does, the node links without help."""
    import websockets.sync.server as ws_server

    port = free_port()
    stop = threading.Event()
    hellos: list[protocol.Message] = []
    runner = NodeRunner(ScriptedEngine(), node_id="dialer")
    thread = threading.Thread(
        target=dial_forever, args=(f"ws://127.0.0.1:{port}/", KEY, runner, stop), daemon=True
    )
    thread.start()
    wait_until(lambda: refusals(caplog))  # at least one refused attempt

    def handler(connection):
        hellos.append(protocol.decode(connection.recv(timeout=5)))

    server = ws_server.serve(handler, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wait_until(lambda: hellos, seconds=8)
    finally:
        stop.set()
        server.shutdown()
        thread.join(timeout=10)
    assert isinstance(hellos[0], protocol.Hello) and hellos[0].node_id == "dialer"


def test_no_job_starts_while_the_ai_is_stopped_and_waiting_ones_run_after(dispatcher, tunnel):
    from webapp.maintenance.flag import FLAG_KEY

    tunnel()
    wait_until(lambda: dispatcher.links)
    dispatcher.bus.set(FLAG_KEY, {"window": 1, "scope": "ai", "ends_at": time.time() + 60})
    time.sleep(0.3)  # the dispatcher reads the flag four times a second
    _job_id, listener = submit(dispatcher)
    seen, deadline = [], time.monotonic() + 1.5
    while time.monotonic() < deadline:
        item = listener.get(timeout=0.1)
        if item is not None:
            seen.append(item[1]["event"])
    assert "started" not in seen and not any(link.running for link in dispatcher.links)
    dispatcher.bus.delete(FLAG_KEY)
    assert collect(listener)[-1]["text"] == "Привет!"
