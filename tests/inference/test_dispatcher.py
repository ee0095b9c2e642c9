"""Dispatchers over the durable queue, with hand-driven node links and clock: scheduling across
people and processes, relaying, the live cut, leases, loss, stop, status."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pc_node import protocol
from tests.queued import waiting_jobs
from webapp.bus import InProcessBus
from webapp.extensions import db
from webapp.inference import jobs, queue
from webapp.inference.dispatcher import Dispatcher, DispatcherConfig
from webapp.inference.events import job_channel
from webapp.inference.models import InferenceJob
from webapp.inference.queue import Priority
from webapp.inference.status import read_status

BASE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    """Monotonic seconds and the wall clock, moved together by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return BASE + timedelta(seconds=self.now - 1000.0)


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


class Recorder:
    """A job kind whose outcomes are recorded."""

    def __init__(self) -> None:
        self.stored: list[tuple] = []

    def on_started(self, session, job):
        self.stored.append(("started", job.job_id))

    def on_done(self, session, job, text, done):
        self.stored.append(("done", job.job_id, text))

    def on_ended(self, session, job, partial, *, cancelled):
        self.stored.append(("cancelled" if cancelled else "failed", job.job_id, partial))


CONFIG = DispatcherConfig(link_timeout=9, ping_every=3, queue_timeout=60, max_attempts=2)


@pytest.fixture
def bus():
    return InProcessBus()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def make_dispatcher(app, bus, clock, recorder):
    made = []

    def make() -> Dispatcher:
        d = Dispatcher(bus, db.new_session, CONFIG, clock, clock.wall)
        d.handlers["test"] = recorder
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()


@pytest.fixture
def dispatcher(make_dispatcher):
    return make_dispatcher()


def submit(bus, clock, user: int, priority: Priority = Priority.USER, **extra) -> str:
    with db.new_session() as session:
        job_id = jobs.submit(
            session,
            bus,
            user_id=user,
            kind="test",
            priority=priority,
            messages=[{"role": "user", "content": f"от {user}"}],
            max_tokens=16,
            now=clock.wall(),
            **extra,
        )
        session.commit()
    clock.now += 0.001  # submissions keep their order on engines that store whole seconds
    return job_id


def cancel(bus, job_id: str) -> None:
    with db.new_session() as session:
        jobs.cancel(session, bus, job_id)
        session.commit()


def events(subscription) -> list[dict]:
    found = []
    while (item := subscription.get()) is not None:
        found.append(item[1])
    return found


def test_jobs_run_in_fair_order_one_per_user(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    ids = {user: submit(bus, clock, user) for user in (1, 2, 3)}
    dispatcher.tick()
    assert [j.job_id for j in node.jobs()] == [ids[1]]
    for expected in (2, 3):
        node.reply(node.jobs()[-1].job_id, "ok")
        dispatcher.tick()
        assert node.jobs()[-1].job_id == ids[expected]


def test_a_job_streams_deltas_keeps_partial_text_and_finishes(bus, clock, dispatcher, recorder):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1)
    listener = bus.subscribe(job_channel(job_id))
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
    assert recorder.stored == [("started", job_id), ("done", job_id, "Привет")]
    assert jobs.partial(bus, job_id) == ("", -1)
    assert waiting_jobs(db.session) == [] and db.session.get(InferenceJob, job_id) is None


def test_a_persons_messages_in_three_dialogs_all_get_answers_in_turn(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    mine = [submit(bus, clock, 1) for _ in range(3)]  # one message in each of three dialogs
    other = submit(bus, clock, 2)
    dispatcher.tick()
    order = [node.jobs()[-1].job_id]
    for _ in range(3):
        node.reply(order[-1], "ok")
        dispatcher.tick()
        order.append(node.jobs()[-1].job_id)
    # Round robin: the other person's message goes between this person's first and second.
    assert order == [mine[0], other, mine[1], mine[2]]


def test_waiting_jobs_hear_their_place_and_eta(bus, clock, dispatcher):
    FakeLink(dispatcher)
    submit(bus, clock, 1)
    second = submit(bus, clock, 2)
    mine_again = submit(bus, clock, 1)
    third = submit(bus, clock, 3)
    listeners = {job: bus.subscribe(job_channel(job)) for job in (second, mine_again, third)}
    clock.now += 0.3  # places are read at most four times a second
    dispatcher.tick()
    places = {job: events(listener)[-1] for job, listener in listeners.items()}
    assert {job: e["position"] for job, e in places.items()} == {
        second: 1,
        third: 2,
        mine_again: 3,  # this person's second message waits behind everyone's first
    }
    assert all(e["event"] == "queued" and e["eta_s"] > 0 for e in places.values())


def test_stop_frees_the_slot_when_the_node_confirms_and_the_next_job_never_fails(
    bus, clock, dispatcher, recorder
):
    node = FakeLink(dispatcher)
    running = submit(bus, clock, 1)
    waiting = submit(bus, clock, 2)
    dispatcher.tick()
    dispatcher.on_frame(node.link, protocol.Delta(job_id=running, seq=0, text="Нача"))
    cancel(bus, running)
    dispatcher.tick()
    assert protocol.Cancel(job_id=running) in node.sent
    assert ("cancelled", running, "Нача") in recorder.stored  # the text so far is kept
    assert node.jobs()[-1].job_id == running  # the node is still stopping: nothing new sent
    dispatcher.on_frame(
        node.link,
        protocol.Done(job_id=running, tokens=1, prompt_ms=1, generation_ms=1, finish_reason="c"),
    )
    assert node.jobs()[-1].job_id == waiting
    # Had the node still been busy, the job goes back to the queue, never to an error.
    listener = bus.subscribe(job_channel(waiting))
    busy = protocol.Error(code="busy", message="node at capacity", job_id=waiting, retryable=True)
    dispatcher.on_frame(node.link, busy)
    assert "error" not in [e["event"] for e in events(listener)]
    assert [j["job_id"] for j in waiting_jobs(db.session)] == [waiting]
    clock.now += 1
    dispatcher.tick()
    assert node.jobs()[-1].job_id == waiting and len(node.jobs()) == 3


def test_a_waiting_job_cancelled_leaves_the_queue(bus, clock, dispatcher):
    FakeLink(dispatcher)
    submit(bus, clock, 1)
    waiting = submit(bus, clock, 2)
    dispatcher.tick()
    cancel(bus, waiting)
    assert [j["job_id"] for j in waiting_jobs(db.session)] == []


def test_silent_link_is_detected_and_its_job_runs_again_then_fails(
    bus, clock, dispatcher, recorder
):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1)
    listener = bus.subscribe(job_channel(job_id))
    dispatcher.tick()
    clock.now += 3
    dispatcher.tick()
    assert any(isinstance(m, protocol.Ping) for m in node.sent)
    clock.now += 7  # 10 s without a frame
    dispatcher.tick()
    assert node.closed and dispatcher.links == []
    assert events(listener)[-1]["event"] == "restart"
    assert [j["job_id"] for j in waiting_jobs(db.session)] == [job_id]

    again = FakeLink(dispatcher)  # the node reconnects: the job runs again
    dispatcher.tick()
    assert again.jobs()[-1].job_id == job_id
    dispatcher.detach(again.link, "test")  # out of tries (2): it fails visibly
    assert events(listener)[-1]["event"] == "error"
    assert recorder.stored[-1] == ("failed", job_id, "")


def test_a_lapsed_lease_is_taken_over_and_the_old_holder_stores_nothing(
    bus, clock, make_dispatcher, recorder
):
    frozen, live = make_dispatcher(), make_dispatcher()  # two web processes
    old_node = FakeLink(frozen)
    job_id = submit(bus, clock, 1)
    frozen.tick()
    assert old_node.jobs()[-1].job_id == job_id
    new_node = FakeLink(live, node_id="pc2")
    # The first process freezes (SIGSTOP): its lease is not renewed and lapses.
    clock.now += queue.LEASE_S + 1
    new_node.link.last_seen = clock.now
    live.tick()
    assert new_node.jobs()[-1].job_id == job_id
    new_node.reply(job_id, "Новый ", "ответ")
    # The frozen process wakes up and its node finishes too: that answer is dropped.
    old_node.link.last_seen = clock.now
    old_node.reply(job_id, "Старый")
    assert [s for s in recorder.stored if s[0] == "done"] == [("done", job_id, "Новый ответ")]


def test_two_processes_share_one_queue_and_one_rule_per_person(bus, clock, make_dispatcher):
    first, second = make_dispatcher(), make_dispatcher()
    a, b = FakeLink(first, node_id="a"), FakeLink(second, node_id="b")
    ids = [submit(bus, clock, 1), submit(bus, clock, 1), submit(bus, clock, 2)]
    first.tick()
    second.tick()
    started = [j.job_id for j in a.jobs() + b.jobs()]
    # Both nodes work, and person 1's second message waits even though a node is free.
    assert sorted(started) == sorted([ids[0], ids[2]])


def test_the_status_is_the_deployments_and_never_flaps(bus, clock, make_dispatcher):
    with_node, without = make_dispatcher(), make_dispatcher()
    FakeLink(with_node)
    with_node.tick()
    for _ in range(5):
        clock.now += 2.5
        with_node.links[0].last_seen = clock.now
        with_node.tick()
        without.tick()  # a process with no node writes nothing
        status = read_status(bus)
        assert status["state"] == "online" and status["model"] == "m"
    assert status["nodes"] == ["pc"] and status["capacity"] == 1


def test_status_online_then_overloaded(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    dispatcher.tick()
    status = read_status(bus)
    assert status["state"] == "online" and status["queue"] == 0
    for user in range(2, 12):
        submit(bus, clock, user)
    dispatcher.tokens_per_second, dispatcher.reply_tokens = 10.0, 100.0  # 10 s a reply
    clock.now += 2.5
    dispatcher.on_frame(node.link, protocol.Pong(nonce="x"))
    dispatcher.tick()
    assert read_status(bus)["state"] == "overloaded"


def test_jobs_waiting_too_long_fail_with_a_message(bus, clock, dispatcher):
    FakeLink(dispatcher)
    submit(bus, clock, 1)
    waiting = submit(bus, clock, 2)
    dispatcher.tick()
    listener = bus.subscribe(job_channel(waiting))
    for _ in range(7):  # 70 s, keeping the link alive
        clock.now += 10
        dispatcher.on_frame(dispatcher.links[0], protocol.Pong(nonce="x"))
        dispatcher.tick()
    assert events(listener)[-1]["event"] == "error"


def test_a_reply_is_cut_live_where_it_will_be_stored(bus, clock, dispatcher, recorder):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1, max_chars=20)
    listener = bus.subscribe(job_channel(job_id))
    dispatcher.tick()
    for seq, piece in enumerate(["Очень ", "длинный ", "ответ ", "без конца"]):
        dispatcher.on_frame(node.link, protocol.Delta(job_id=job_id, seq=seq, text=piece))
    shown = "".join(e["text"] for e in events(listener) if e["event"] == "delta")
    assert shown == "Очень длинный " + " [...]" and len(shown) == 20
    assert protocol.Cancel(job_id=job_id) in node.sent  # the node stops generating
    assert recorder.stored[-1][0] == "done"


def test_a_short_ending_past_the_cut_point_is_shown_whole(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1, max_chars=20)
    listener = bus.subscribe(job_channel(job_id))
    dispatcher.tick()
    node.reply(job_id, "Коротко, но ", "точно!")  # 18 characters: within the limit
    shown = "".join(e["text"] for e in events(listener) if e["event"] == "delta")
    assert shown == "Коротко, но точно!"


def test_frames_for_jobs_the_node_does_not_hold_are_ignored(bus, clock, dispatcher, recorder):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1)
    dispatcher.tick()
    node.reply(job_id, "ok")
    done = protocol.Done(job_id=job_id, tokens=1, prompt_ms=1, generation_ms=1)
    dispatcher.on_frame(node.link, done)  # a second done
    dispatcher.on_frame(node.link, protocol.Delta(job_id="nope", seq=0, text="x"))
    dispatcher.on_frame(node.link, protocol.Error(code="x", message="y", job_id="nope"))
    assert [s[0] for s in recorder.stored] == ["started", "done"]
    following = submit(bus, clock, 2)
    dispatcher.tick()
    assert node.jobs()[-1].job_id == following  # the relay keeps running


def test_node_error_is_retried_when_retryable(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1)
    dispatcher.tick()
    dispatcher.on_frame(
        node.link, protocol.Error(code="x", message="oom", job_id=job_id, retryable=True)
    )
    dispatcher.tick()
    assert [j.job_id for j in node.jobs()] == [job_id, job_id]
    listener = bus.subscribe(job_channel(job_id))
    dispatcher.on_frame(node.link, protocol.Error(code="x", message="bad", job_id=job_id))
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


def test_submission_payload_is_json_and_capped(app, bus, clock):
    job_id = submit(bus, clock, 1)
    with db.new_session() as session:
        jobs.submit(session, bus, user_id=1, kind="k", messages=[], max_tokens=10**6, job_id="x")
        session.flush()
        row = session.get(InferenceJob, "x")
        assert json.loads(row.payload)["max_tokens"] == jobs.MAX_TOKENS_CAP
    assert job_id


def test_a_deltas_frame_is_relayed_as_the_deltas_it_holds(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    job_id = submit(bus, clock, 1)
    listener = bus.subscribe(job_channel(job_id))
    dispatcher.tick()
    pieces = [protocol.Delta(job_id, 0, "При"), protocol.Delta(job_id, 1, "вет")]
    dispatcher.on_frame(node.link, protocol.Deltas.pack(pieces))
    relayed = [e for e in events(listener) if e["event"] == "delta"]
    assert [(e["seq"], e["text"]) for e in relayed] == [(0, "При"), (1, "вет")]
    assert jobs.partial(bus, job_id) == ("При", 0)  # saved on the first delta, then every 0.2 s


def test_background_jobs_run_beside_a_persons_reply_and_give_way_to_waiting_ones(
    bus, clock, dispatcher
):
    node = FakeLink(dispatcher, capacity=2)
    reply = submit(bus, clock, 1)
    summary = submit(bus, clock, 1, Priority.SUMMARY)
    dispatcher.tick()
    assert [j.job_id for j in node.jobs()] == [reply, summary]  # not held by "one per user"
    listener = bus.subscribe(job_channel(summary))
    other = submit(bus, clock, 2)
    clock.now += 1
    dispatcher.tick()
    assert protocol.Cancel(job_id=summary) in node.sent  # the slot goes to a person
    assert [e["event"] for e in events(listener)] == ["cancelled"]
    dispatcher.on_frame(
        node.link, protocol.Done(job_id=summary, tokens=0, prompt_ms=0, generation_ms=0)
    )
    assert node.jobs()[-1].job_id == other


def test_background_jobs_do_not_make_the_ai_look_busy(bus, clock, dispatcher):
    node = FakeLink(dispatcher)
    for user in range(1, 12):
        submit(bus, clock, user, Priority.SUMMARY)
    dispatcher.tokens_per_second, dispatcher.reply_tokens = 10.0, 100.0
    clock.now += 2.5
    dispatcher.on_frame(node.link, protocol.Pong(nonce="x"))
    dispatcher.tick()
    status = read_status(bus)
    assert status["state"] == "online" and status["queue"] == 0
    assert status["background"] == 11 and status["running"] == 1


def test_links_are_written_to_the_system_log(dispatcher):
    from sqlalchemy import select

    from webapp.monitoring.models import LogEntry

    hello = protocol.Hello(node_id="pc-7", engine="e", model="qwen", context_size=1, capacity=2)
    link = dispatcher.attach(hello, lambda f: None, lambda: None)
    dispatcher.detach(link, "socket closed")
    with db.new_session() as session:
        rows = session.execute(
            select(LogEntry.category, LogEntry.event, LogEntry.detail).order_by(LogEntry.id)
        ).all()
    linked, unlinked = [row for row in rows if row.event.startswith("node_")][-2:]
    assert (linked.category, linked.event) == ("system", "node_linked")
    assert json.loads(linked.detail) == {"node": "pc-7", "model": "qwen", "capacity": 2}
    assert unlinked.event == "node_unlinked" and "socket closed" in unlinked.detail
