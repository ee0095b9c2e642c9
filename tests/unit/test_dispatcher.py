"""The dispatcher with hand-driven node links and clock: scheduling, relaying, loss, status."""

import json

import pytest

from pc_node import protocol
from webapp.bus import InProcessBus
from webapp.inference import jobs
from webapp.inference.dispatcher import Dispatcher, DispatcherConfig
from webapp.inference.queue import Priority
from webapp.inference.status import read_status


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLink:
    """The node side of a link: records what the dispatcher sent."""

    def __init__(self, dispatcher: Dispatcher, capacity: int = 1, node_id: str = "pc") -> None:
        self.sent: list[protocol.Message] = []
        self.closed = False
        hello = protocol.Hello(
            node_id=node_id, engine="fake", model="m", context_size=2048, capacity=capacity
        )
        self.link = dispatcher.attach(
            hello, lambda f: self.sent.append(protocol.decode(f)), self.close
        )
        self.dispatcher = dispatcher

    def close(self) -> None:
        self.closed = True

    def jobs(self) -> list[protocol.Job]:
        return [m for m in self.sent if isinstance(m, protocol.Job)]

    def reply(self, job_id: str, *pieces: str) -> None:
        for seq, text in enumerate(pieces):
            self.dispatcher.on_frame(self.link, protocol.Delta(job_id=job_id, seq=seq, text=text))
        self.dispatcher.on_frame(
            self.link,
            protocol.Done(job_id=job_id, tokens=len(pieces), prompt_ms=5, generation_ms=100),
        )


@pytest.fixture
def bus():
    return InProcessBus()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def dispatcher(bus, clock):
    d = Dispatcher(bus, DispatcherConfig(link_timeout=9, ping_every=3, queue_timeout=60), clock)
    yield d
    d.stop()


def submit(bus, user: int, priority: Priority = Priority.USER, kind: str = "test") -> str:
    return jobs.submit(
        bus,
        user_id=user,
        kind=kind,
        priority=priority,
        messages=[{"role": "user", "content": f"от {user}"}],
        max_tokens=16,
    )


def events(subscription) -> list[dict]:
    found = []
    while (item := subscription.get()) is not None:
        found.append(item[1])
    return found


def test_jobs_run_in_fair_order_one_per_user(bus, dispatcher):
    node = FakeLink(dispatcher)
    ids = {user: submit(bus, user) for user in (1, 2, 3)}
    dispatcher.tick()
    assert [j.job_id for j in node.jobs()] == [ids[1]]
    for expected in (2, 3):
        node.reply(node.jobs()[-1].job_id, "ok")
        dispatcher.tick()
        assert node.jobs()[-1].job_id == ids[expected]


def test_a_job_streams_deltas_keeps_partial_text_and_finishes(bus, dispatcher):
    node = FakeLink(dispatcher)
    job_id = submit(bus, 1, kind="chat_reply")
    stored = []

    class Recorder:
        def on_started(self, job):
            stored.append(("started", job.job_id))

        def on_done(self, job, text, done):
            stored.append((job.job_id, text))

        def on_ended(self, job, partial, *, cancelled):
            stored.append(("ended", partial, cancelled))

    dispatcher.handlers["chat_reply"] = Recorder()
    listener = bus.subscribe(jobs.job_channel(job_id))
    dispatcher.tick()
    dispatcher.on_frame(node.link, protocol.Delta(job_id=job_id, seq=0, text="При"))
    assert jobs.partial(bus, job_id) == ("При", 0)
    dispatcher.on_frame(node.link, protocol.Delta(job_id=job_id, seq=0, text="дубль"))  # ignored
    dispatcher.on_frame(node.link, protocol.Delta(job_id=job_id, seq=1, text="вет"))
    dispatcher.on_frame(
        node.link, protocol.Done(job_id=job_id, tokens=2, prompt_ms=1, generation_ms=20)
    )
    seen = events(listener)
    assert [e["event"] for e in seen] == ["started", "delta", "delta", "done"]
    assert seen[-1]["text"] == "Привет"
    assert stored == [("started", job_id), (job_id, "Привет")]
    assert jobs.partial(bus, job_id) == ("", -1)


def test_a_second_waiting_job_of_the_same_user_is_refused(bus, dispatcher):
    FakeLink(dispatcher)
    submit(bus, 1)
    dispatcher.tick()  # first one running
    submit(bus, 1)
    third = submit(bus, 1)
    listener = bus.subscribe(jobs.job_channel(third))
    dispatcher.tick()
    [refusal] = events(listener)
    assert refusal["event"] == "error" and "Дождитесь" in refusal["message"]


def test_waiting_jobs_hear_their_place_and_eta(bus, dispatcher):
    FakeLink(dispatcher)
    submit(bus, 1)
    second = submit(bus, 2)
    listener = bus.subscribe(jobs.job_channel(second))
    dispatcher.tick()
    [queued] = events(listener)
    assert queued["event"] == "queued" and queued["position"] == 1 and queued["eta_s"] > 0


def test_cancel_frees_the_node_at_once(bus, dispatcher):
    node = FakeLink(dispatcher)
    running = submit(bus, 1)
    waiting = submit(bus, 2)
    dispatcher.tick()
    jobs.cancel(bus, running)
    dispatcher.tick()
    assert protocol.Cancel(job_id=running) in node.sent
    assert node.jobs()[-1].job_id == waiting  # the freed slot went to the next person
    jobs.cancel(bus, waiting)
    dispatcher.tick()
    assert not node.link.running


def test_cancel_of_a_waiting_job(bus, dispatcher):
    FakeLink(dispatcher)
    submit(bus, 1)
    waiting = submit(bus, 2)
    dispatcher.tick()
    listener = bus.subscribe(jobs.job_channel(waiting))
    jobs.cancel(bus, waiting)
    dispatcher.tick()
    assert [e["event"] for e in events(listener)] == ["cancelled"]
    assert len(dispatcher.queue) == 0


def test_silent_link_is_detected_and_its_job_retried_once_then_failed(bus, dispatcher, clock):
    node = FakeLink(dispatcher)
    job_id = submit(bus, 1)
    listener = bus.subscribe(jobs.job_channel(job_id))
    dispatcher.tick()
    clock.now += 3
    dispatcher.tick()
    assert any(isinstance(m, protocol.Ping) for m in node.sent)
    clock.now += 7  # 10 s without a frame
    dispatcher.tick()
    assert node.closed and dispatcher.links == []
    assert read_status(bus)["state"] == "offline"
    seen = events(listener)
    assert [e["event"] for e in seen[-2:]] == ["restart", "queued"]
    assert seen[-1]["online"] is False  # the browser can say the AI is offline for now
    assert dispatcher.queue.position(job_id) == 1

    again = FakeLink(dispatcher)  # the node reconnects: the job runs again
    dispatcher.tick()
    assert again.jobs()[-1].job_id == job_id
    dispatcher.detach(again.link, "test")
    assert events(listener)[-1]["event"] == "error"


def test_node_error_is_retried_when_retryable(bus, dispatcher):
    node = FakeLink(dispatcher)
    job_id = submit(bus, 1)
    dispatcher.tick()
    dispatcher.on_frame(
        node.link, protocol.Error(code="x", message="oom", job_id=job_id, retryable=True)
    )
    dispatcher.tick()
    assert [j.job_id for j in node.jobs()] == [job_id, job_id]
    listener = bus.subscribe(jobs.job_channel(job_id))
    dispatcher.on_frame(node.link, protocol.Error(code="x", message="bad", job_id=job_id))
    assert events(listener)[-1]["event"] == "error"


def test_status_online_then_overloaded(bus, dispatcher, clock):
    node = FakeLink(dispatcher)
    dispatcher.tick()
    status = read_status(bus)
    assert status["state"] == "online" and status["model"] == "m" and status["queue"] == 0
    for user in range(2, 12):
        submit(bus, user)
    dispatcher.job_seconds = 10
    clock.now += 2.5
    dispatcher.on_frame(node.link, protocol.Pong(nonce="x"))
    dispatcher.tick()
    assert read_status(bus)["state"] == "overloaded"


def test_jobs_waiting_too_long_fail_with_a_message(bus, dispatcher, clock):
    FakeLink(dispatcher)
    submit(bus, 1)
    waiting = submit(bus, 2)
    dispatcher.tick()
    listener = bus.subscribe(jobs.job_channel(waiting))
    for _ in range(7):  # 70 s, keeping the link alive
        clock.now += 10
        dispatcher.on_frame(dispatcher.links[0], protocol.Pong(nonce="x"))
        dispatcher.tick()
    assert events(listener)[-1]["event"] == "error"


def test_metrics_from_the_node_are_kept_for_the_widgets(bus, dispatcher):
    node = FakeLink(dispatcher)
    values = {"cpu_percent": 12.0, "gpu_percent": None, "ai_first_token_ms": 80}
    dispatcher.on_frame(node.link, protocol.Metrics(at=1.0, values=values))
    assert bus.recent("samples:pc") == [
        {"at": 1.0, "values": {"cpu_percent": 12.0, "ai_first_token_ms": 80.0}}
    ]


def test_revoked_key_cuts_the_link(bus, dispatcher):
    hello = protocol.Hello(node_id="n", engine="e", model="m", context_size=1, capacity=1)
    closed = []
    dispatcher.attach(hello, lambda f: None, lambda: closed.append(True), key_id=7)
    jobs.revoke_links(bus, 7)
    dispatcher.tick()
    assert closed and dispatcher.links == []


def test_submission_payload_is_json_and_capped(bus):
    job_id = jobs.submit(bus, user_id=1, kind="k", messages=[], max_tokens=10**6)
    item = bus.pop(jobs.SUBMIT_QUEUE)
    assert item["job_id"] == job_id and item["max_tokens"] == jobs.MAX_TOKENS_CAP
    json.dumps(item)


def test_a_deltas_frame_is_relayed_as_the_deltas_it_holds(bus, dispatcher):
    node = FakeLink(dispatcher)
    job_id = submit(bus, 1)
    listener = bus.subscribe(jobs.job_channel(job_id))
    dispatcher.tick()
    pieces = [protocol.Delta(job_id, 0, "При"), protocol.Delta(job_id, 1, "вет")]
    dispatcher.on_frame(node.link, protocol.Deltas.pack(pieces))
    relayed = [e for e in events(listener) if e["event"] == "delta"]
    assert [(e["seq"], e["text"]) for e in relayed] == [(0, "При"), (1, "вет")]
    assert jobs.partial(bus, job_id) == ("При", 0)  # saved on the first delta, then every 0.2 s


def test_background_jobs_run_beside_a_persons_reply_and_give_way_to_waiting_ones(bus, dispatcher):
    node = FakeLink(dispatcher, capacity=2)
    reply = submit(bus, 1)
    summary = submit(bus, 1, Priority.SUMMARY)
    dispatcher.tick()
    assert [j.job_id for j in node.jobs()] == [reply, summary]  # not held by "one per user"
    listener = bus.subscribe(jobs.job_channel(summary))
    other = submit(bus, 2)
    dispatcher.tick()
    assert protocol.Cancel(job_id=summary) in node.sent  # the slot went to a person
    assert node.jobs()[-1].job_id == other
    assert [e["event"] for e in events(listener)] == ["cancelled"]
    again = submit(bus, 1)  # user 1 still has a reply running: no room is made for this one
    dispatcher.tick()
    assert node.jobs()[-1].job_id == other and again in [j.job_id for j in dispatcher.queue]


def test_background_jobs_do_not_make_the_ai_look_busy(bus, dispatcher, clock):
    node = FakeLink(dispatcher)
    for user in range(1, 12):
        submit(bus, user, Priority.SUMMARY)
    dispatcher.job_seconds = 10
    clock.now += 2.5
    dispatcher.on_frame(node.link, protocol.Pong(nonce="x"))
    dispatcher.tick()
    status = read_status(bus)
    assert status["state"] == "online" and status["queue"] == 0
    assert status["background"] == 11 and status["running"] == 1
