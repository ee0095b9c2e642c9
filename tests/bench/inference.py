"""Inference figures: the tiny model called directly vs through the node link and the whole path.

Fair comparison on one shared machine:
- the node gets the same share in every measurement (the first CPU, one llama.cpp thread: "the
  home PC"); the site, the dispatcher and the browser client get the other CPUs ("the VDS" and
  the phone), as they would on machines of their own;
- every path runs the same job: the prompt, length and temperature the site sets for the chat's
  character and message;
- the three are measured in turns (direct, link, browser, direct, ...), each in a process of its
  own, so a slow minute of the machine falls on all three alike;
- throughput is the same measure everywhere: tokens after the first over the time they took.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pc_node import protocol
from webapp.bus import InProcessBus
from webapp.inference import jobs
from webapp.inference.dial import dial_node
from webapp.inference.dispatcher import Dispatcher, DispatcherConfig
from webapp.inference.events import job_channel

QUESTION = "Tell me a short story about a cat."
RUNS = 7
NODE_THREADS = 1
FINISHED = 'hx-swap-oob="true" class="msg msg-assistant"'


def _split_cpus() -> tuple[set[int], set[int]]:
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, set(cpus[1:])) if len(cpus) > 1 else (set(cpus), set(cpus))


NODE_CPUS, SITE_CPUS = _split_cpus()


@contextmanager
def on_cpus(cpus: set[int]):
    """This thread, and every process it starts meanwhile, runs on these CPUs."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _python(*args: str, **options) -> subprocess.Popen:
    from tests.live import BIN, ROOT

    with on_cpus(NODE_CPUS):
        return subprocess.Popen([BIN / "python", "-m", *args], cwd=ROOT, **options)


@contextmanager
def direct():
    """run(job) -> (tokens/s, first-token ms) of the engine called directly."""
    engine = _python(
        "tests.bench.engine_alone", str(NODE_THREADS),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip

    def run(job: dict) -> tuple[float, float]:
        engine.stdin.write(json.dumps(job) + "\n")
        engine.stdin.flush()
        found = json.loads(engine.stdout.readline())
        return found["rate"], found["first_ms"]

    try:
        yield run
    finally:
        engine.stdin.close()
        engine.wait(timeout=15)


@contextmanager
def through_link():
    """run(job): the same, seen where the web app sees it (job events on the bus), with
    pc_node in its own process in listening mode and the dispatcher dialing it."""
    from tests.conftest import free_port

    port = free_port()
    node = _python(
        "pc_node", "--listen", f"127.0.0.1:{port}", "--api-key", "mhn_bench",
        "--node-id", "bench", "--context-size", "1024", "--threads", str(NODE_THREADS),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    bus = InProcessBus()
    sessions = queue_sessions()
    dispatcher = Dispatcher(bus, sessions, DispatcherConfig(poll_every=0.005))
    dispatcher.start()
    stop = threading.Event()
    threading.Thread(
        target=dial_node,
        args=(f"ws://127.0.0.1:{port}/", "mhn_bench", dispatcher, stop),
        daemon=True,
    ).start()

    def run(job: dict) -> tuple[float, float]:
        job_id = uuid.uuid4().hex
        events = bus.subscribe(job_channel(job_id))  # before the job starts
        started = time.perf_counter()
        with sessions() as session:
            jobs.submit(session, bus, job_id=job_id, user_id=1, kind="bench", **job)
            session.commit()
        first = last = None
        deltas = 0
        while True:
            _channel, event = events.get(timeout=60)
            if event["event"] == "delta":
                last = time.perf_counter()
                first = first or last
                deltas += 1
            if event["event"] == "done":
                break
        events.close()
        return (deltas - 1) / max(last - first, 1e-6), (first - started) * 1000

    try:
        deadline = time.monotonic() + 60
        while not dispatcher.links and time.monotonic() < deadline:
            time.sleep(0.05)
        yield run
    finally:
        stop.set()
        dispatcher.stop()
        node.terminate()
        node.wait(timeout=15)


@contextmanager
def through_browser(runs: int):
    """run() -> (tokens/s, first-token ms) seen by a browser socket on /ws/chat of the real
    server, pc_node running the tiny model: the whole path, message stored and queued included;
    and job(), what the site asked the node for (prompt, length, temperature)."""
    from websockets.sync.client import connect

    from tests.bench.ws_load import _prepare
    from tests.live import live_server, tiny_node

    instance = Path(tempfile.mkdtemp(prefix="mehhost-path-"))
    with (
        live_server(instance, RATELIMIT_ENABLED="false", BCRYPT_ROUNDS="4") as server,
        ExitStack() as node,
    ):
        people = iter(_prepare(instance, count=runs))  # a fresh dialog for every run
        with on_cpus(NODE_CPUS):  # the node starts there and stays there
            node.enter_context(tiny_node(server, context_size=1024, threads=NODE_THREADS))

        def run() -> tuple[float, float]:
            person = next(people)
            run.dialog = person["busy"]
            with connect(
                f"{server.ws_url}/ws/chat/{person['busy']}",
                origin=server.url,
                additional_headers={"Cookie": person["cookie"]},
            ) as ws:
                ws.send(json.dumps({"action": "hello", "last_id": 0}))
                sent = time.perf_counter()
                ws.send(json.dumps({"message": QUESTION, "client_id": "r"}))
                first = last = None
                deltas = 0
                while True:
                    frame = ws.recv(timeout=120)
                    pieces = frame.count("beforeend:#b-")
                    if pieces:
                        last = time.perf_counter()
                        first = first or last
                        deltas += pieces
                    if FINISHED in frame:
                        break
            return (deltas - 1) / max(last - first, 1e-6), (first - sent) * 1000

        yield run, lambda: _site_job(instance, run.dialog)


def _site_job(instance: Path, dialog_id: int) -> dict:
    """What the site sent the node for the question in this dialog (built again, same code)."""
    from sqlalchemy import select

    from config.settings import load_settings
    from webapp import create_app
    from webapp.accounts.models import User
    from webapp.characters.models import Character
    from webapp.chat import replies
    from webapp.chat.models import Dialog, Message, Role
    from webapp.extensions import db

    os.environ["INSTANCE_PATH"] = str(instance)
    app = create_app(load_settings())
    with app.app_context(), db.new_session() as session:
        dialog = session.get(Dialog, dialog_id)
        reply_id = session.scalar(
            select(Message.id)
            .where(Message.dialog_id == dialog_id, Message.role == Role.ASSISTANT)
            .order_by(Message.id.desc())
        )
        character = session.get(Character, dialog.character_id)
        user = session.get(User, dialog.user_id)
        bus = app.extensions["mehhost.bus"]
        prompt = replies.reply_prompt(
            session, bus, dialog, character, user.display_name, before_id=reply_id
        )
        parameters = replies.generation_parameters(character)
        session.rollback()
    return {"messages": prompt, **parameters}


def queue_sessions():
    """Sessions on a throwaway SQLite database built by the migrations: the durable queue."""
    import tempfile

    from sqlalchemy.orm import sessionmaker

    from tests.schema import reset_schema
    from webapp.db import make_engine

    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='mehhost-bench-')}/queue.db")
    reset_schema(engine)
    return sessionmaker(bind=engine, expire_on_commit=False)


def dispatch_cost(jobs_count: int = 500) -> float:
    """Milliseconds of dispatcher work per job: claim it from the durable queue (SQLite), start
    it on a node, store its end, with `jobs_count` people waiting in line (five times the 100
    WebSockets we plan for)."""
    bus = InProcessBus()
    sessions = queue_sessions()
    dispatcher = Dispatcher(bus, sessions, DispatcherConfig())
    hello = protocol.Hello(node_id="n", engine="e", model="m", context_size=1, capacity=1)
    sent: list[str] = []
    link = dispatcher.attach(hello, sent.append, lambda: None)
    with sessions() as session:
        for n in range(jobs_count):
            jobs.submit(session, bus, user_id=n, kind="bench", messages=[], max_tokens=1)
        session.commit()
    started = time.perf_counter()
    dispatcher.tick()
    for _ in range(jobs_count):
        job_id = next(iter(link.running))
        dispatcher.on_frame(
            link, protocol.Done(job_id=job_id, tokens=1, prompt_ms=1, generation_ms=1)
        )
    elapsed = time.perf_counter() - started
    return elapsed * 1000 / jobs_count


def measure() -> dict[str, float]:
    found: dict[str, list[tuple[float, float]]] = {"direct": [], "link": [], "browser": []}
    with on_cpus(SITE_CPUS), through_browser(RUNS + 1) as (browser, site_job):
        browser()  # warms the node up, and the site sets the job the others will run
        job = site_job()
        with direct() as engine, through_link() as link:
            engine(job)
            link(job)  # warm-ups
            for _ in range(RUNS):  # in turns: a slow moment of the machine hits all three
                found["direct"].append(engine(job))
                found["link"].append(link(job))
                found["browser"].append(browser())
    rate = {path: statistics.median(r for r, _ in runs) for path, runs in found.items()}
    first = {path: statistics.median(f for _, f in runs) for path, runs in found.items()}
    return {
        # The whole path: browser socket <- web process <- node link <- pc_node (tiny model).
        # Its first token includes storing the message, the queue and building the prompt.
        "tiny_model_prompt_messages_count": len(job["messages"]),
        "tiny_model_max_tokens": job["max_tokens"],
        "tiny_model_temperature": job["temperature"],
        "tiny_model_node_cpus_count": len(NODE_CPUS),
        "tiny_model_direct_tokens_per_s": round(rate["direct"], 1),
        "tiny_model_direct_first_token_ms": round(first["direct"], 1),
        "tiny_model_via_link_tokens_per_s": round(rate["link"], 1),
        "tiny_model_via_link_throughput_percent": round(100 * rate["link"] / rate["direct"], 1),
        "tiny_model_via_link_first_token_ms": round(first["link"], 1),
        "tiny_model_link_first_token_overhead_ms": round(first["link"] - first["direct"], 1),
        "tiny_model_browser_tokens_per_s": round(rate["browser"], 1),
        "tiny_model_browser_throughput_percent": round(100 * rate["browser"] / rate["direct"], 1),
        "tiny_model_browser_first_token_ms": round(first["browser"], 1),
        "tiny_model_browser_first_token_overhead_ms": round(first["browser"] - first["direct"], 1),
        "queue_dispatch_per_job_ms": round(dispatch_cost(), 4),
    }
