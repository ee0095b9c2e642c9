"""Inference figures: the tiny model called directly vs through the node link and dispatcher."""

from __future__ import annotations

import statistics
import threading
import time

from pc_node import protocol
from pc_node.engines.base import Generation
from pc_node.link import listen
from pc_node.node import NodeRunner
from webapp.bus import InProcessBus
from webapp.inference import jobs
from webapp.inference.dial import dial_node
from webapp.inference.dispatcher import Dispatcher, DispatcherConfig

PROMPT = [
    {"role": "system", "content": "You are a friendly assistant."},
    {"role": "user", "content": "Tell me a short story about a cat."},
]
MAX_TOKENS = 64
RUNS = 5


def direct(engine) -> tuple[list[float], list[float]]:
    """(tokens/s, first-token ms) per run, engine called in process."""
    rates, firsts = [], []
    for _ in range(RUNS):
        generation = Generation(messages=PROMPT, max_tokens=MAX_TOKENS, temperature=0.0)
        started = time.perf_counter()
        first = None
        for _text in engine.stream(generation):
            first = first or time.perf_counter()
        finished = time.perf_counter()
        firsts.append((first - started) * 1000)
        rates.append(generation.tokens / max(finished - first, 1e-6))
    return rates, firsts


def through_link(engine) -> tuple[list[float], list[float]]:
    """The same, measured where the web app sees it: job channel events on the bus."""
    from tests.conftest import free_port

    bus = InProcessBus()
    dispatcher = Dispatcher(bus, DispatcherConfig())
    dispatcher.start(interval=0.005)
    port = free_port()
    server = listen("127.0.0.1", port, "mhn_bench", NodeRunner(engine, node_id="bench"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    threading.Thread(
        target=dial_node,
        args=(f"ws://127.0.0.1:{port}/", "mhn_bench", dispatcher, stop),
        daemon=True,
    ).start()
    while not dispatcher.links:
        time.sleep(0.01)
    rates, firsts = [], []
    try:
        for run in range(RUNS):
            job_id = jobs.submit(
                bus,
                user_id=run,
                kind="bench",
                messages=PROMPT,
                max_tokens=MAX_TOKENS,
                temperature=0.0,
            )
            events = bus.subscribe(jobs.job_channel(job_id))
            started = time.perf_counter()
            first = None
            while True:
                _channel, event = events.get(timeout=60)
                if event["event"] == "delta" and first is None:
                    first = time.perf_counter()
                if event["event"] == "done":
                    finished = time.perf_counter()
                    break
            events.close()
            firsts.append((first - started) * 1000)
            rates.append(event["tokens"] / max(finished - first, 1e-6))
    finally:
        stop.set()
        server.shutdown()
        dispatcher.stop()
    return rates, firsts


def dispatch_cost(jobs_count: int = 500) -> float:
    """Milliseconds of dispatcher work per job: take it, start it on a node, relay its done,
    with `jobs_count` people waiting in line (five times the 100 WebSockets we plan for)."""
    bus = InProcessBus()
    dispatcher = Dispatcher(bus, DispatcherConfig())
    hello = protocol.Hello(node_id="n", engine="e", model="m", context_size=1, capacity=1)
    sent: list[str] = []
    link = dispatcher.attach(hello, sent.append, lambda: None)
    for n in range(jobs_count):
        jobs.submit(bus, user_id=n, kind="bench", messages=[], max_tokens=1)
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
    from pc_node.__main__ import bundled_model
    from pc_node.engines.llama import LlamaEngine

    engine = LlamaEngine(bundled_model(), context_size=1024)
    direct(engine)  # warm-up: page in the model, build caches
    direct_rates, direct_firsts = direct(engine)
    link_rates, link_firsts = through_link(engine)
    browser_rates, browser_firsts = through_browser()
    direct_rate = statistics.median(direct_rates)
    link_rate = statistics.median(link_rates)
    return {
        # The whole path: browser socket <- web process <- node link <- pc_node (tiny model).
        # Its first token includes storing the message, the queue and building the prompt.
        "tiny_model_browser_tokens_per_s": round(statistics.median(browser_rates), 1),
        "tiny_model_browser_throughput_percent": round(
            100 * statistics.median(browser_rates) / direct_rate, 1
        ),
        "tiny_model_browser_first_token_ms": round(statistics.median(browser_firsts), 1),
        "tiny_model_direct_tokens_per_s": round(direct_rate, 1),
        "tiny_model_via_link_tokens_per_s": round(link_rate, 1),
        "tiny_model_via_link_throughput_percent": round(100 * link_rate / direct_rate, 1),
        "tiny_model_direct_first_token_ms": round(statistics.median(direct_firsts), 1),
        "tiny_model_via_link_first_token_ms": round(statistics.median(link_firsts), 1),
        "tiny_model_link_first_token_overhead_ms": round(
            statistics.median(link_firsts) - statistics.median(direct_firsts), 1
        ),
        "queue_dispatch_per_job_ms": round(dispatch_cost(), 4),
    }


def through_browser(runs: int = 3) -> tuple[list[float], list[float]]:
    """(tokens/s, first-token ms) seen by a browser socket on /ws/chat of the real server, with
    pc_node running the tiny model: the whole path, message stored and queued included."""
    import json
    import tempfile
    from pathlib import Path

    from websockets.sync.client import connect

    from tests.bench.ws_load import _prepare
    from tests.live import live_server, tiny_node

    instance = Path(tempfile.mkdtemp(prefix="mehhost-path-"))
    rates, firsts = [], []
    with live_server(instance, RATELIMIT_ENABLED="false", BCRYPT_ROUNDS="4") as server:
        people = _prepare(instance, count=runs + 1)  # a fresh dialog for every run
        with tiny_node(server):
            for run, person in enumerate(people):  # the first run warms the model up
                with connect(
                    f"{server.ws_url}/ws/chat/{person['busy']}",
                    origin=server.url,
                    additional_headers={"Cookie": person["cookie"]},
                ) as ws:
                    ws.send(json.dumps({"action": "hello", "last_id": 0}))
                    sent = time.perf_counter()
                    ws.send(json.dumps({"message": PROMPT[-1]["content"], "client_id": "r"}))
                    first = last = None
                    deltas = 0
                    while True:
                        frame = ws.recv(timeout=120)
                        pieces = frame.count("beforeend:#b-")
                        if pieces:
                            last = time.perf_counter()
                            first = first or last
                            deltas += pieces
                        if 'hx-swap-oob="true" class="msg msg-assistant"' in frame:
                            break
                    if run and first and deltas > 1:
                        firsts.append((first - sent) * 1000)
                        rates.append((deltas - 1) / max(last - first, 1e-6))
    return rates, firsts
