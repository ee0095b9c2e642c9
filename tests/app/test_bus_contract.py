"""One contract, two buses: the in-process default and Redis (when TEST_REDIS_URL is set)."""

import threading
import time
import uuid

import pytest

from tests.conftest import TEST_REDIS_URL
from webapp.bus import InProcessBus, RedisBus, make_bus


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def bus(request):
    if request.param == "memory":
        yield InProcessBus(clock=Clock())
        return
    if not TEST_REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    redis_bus = RedisBus(TEST_REDIS_URL, prefix=f"test-{uuid.uuid4().hex}:")
    yield redis_bus
    keys = list(redis_bus.client.scan_iter(redis_bus.prefix + "*"))
    if keys:
        redis_bus.client.delete(*keys)


def later(bus, seconds: float) -> None:
    """Let `seconds` pass for the bus's expiring values and claims, without waiting: the
    in-process bus's clock moves; in Redis every key's remaining time shrinks (and one whose
    time is up goes, as Redis itself would drop it)."""
    if isinstance(bus, InProcessBus):
        bus.clock.now += seconds
        return
    for key in bus.client.scan_iter(bus.prefix + "*"):
        remaining = bus.client.pttl(key)
        if remaining > 0:
            left = remaining - int(seconds * 1000)
            if left > 0:
                bus.client.pexpire(key, left)
            else:
                bus.client.delete(key)


def test_published_messages_reach_every_subscriber_of_the_channel(bus):
    first, second = bus.subscribe("chat:1"), bus.subscribe("chat:1", "chat:2")
    other = bus.subscribe("chat:3")
    bus.publish("chat:1", {"text": "привет", "n": 1})
    bus.publish("chat:2", {"text": "второй"})
    assert first.get(timeout=2) == ("chat:1", {"text": "привет", "n": 1})
    received = [second.get(timeout=2), second.get(timeout=2)]
    assert received == [("chat:1", {"text": "привет", "n": 1}), ("chat:2", {"text": "второй"})]
    assert other.get(timeout=0.2) is None
    for subscription in (first, second, other):
        subscription.close()


def test_a_closed_subscription_receives_nothing(bus):
    subscription = bus.subscribe("c")
    subscription.close()
    bus.publish("c", {"x": 1})
    listener = bus.subscribe("c")
    bus.publish("c", {"x": 2})
    assert listener.get(timeout=2) == ("c", {"x": 2})
    listener.close()


def test_queue_is_first_in_first_out_and_each_item_is_taken_once(bus):
    for n in range(3):
        bus.push("jobs", {"n": n})
    assert bus.queue_length("jobs") == 3
    assert [bus.pop("jobs")["n"] for _ in range(3)] == [0, 1, 2]
    assert bus.pop("jobs") is None
    assert bus.queue_length("jobs") == 0


def test_pop_waits_for_an_item_pushed_later(bus):
    threading.Timer(0.2, bus.push, args=("later", {"ok": True})).start()
    started = time.monotonic()
    assert bus.pop("later", timeout=3) == {"ok": True}
    assert time.monotonic() - started < 3


def test_pop_with_timeout_returns_none_when_nothing_comes(bus):
    assert bus.pop("empty", timeout=0.3) is None


def test_values_expire_and_can_be_deleted(bus):
    bus.set("ai_service_status", {"state": "online", "queue": 2})
    assert bus.get("ai_service_status") == {"state": "online", "queue": 2}
    bus.set("short", {"x": 1}, ttl=20)
    later(bus, 15)
    assert bus.get("short") == {"x": 1}
    later(bus, 10)
    assert bus.get("short") is None
    assert bus.get("ai_service_status") == {"state": "online", "queue": 2}  # no ttl: kept
    bus.delete("ai_service_status")
    assert bus.get("ai_service_status") is None


def test_messages_are_copies_not_shared_objects(bus):
    payload = {"items": [1, 2]}
    bus.set("k", payload)
    payload["items"].append(3)
    assert bus.get("k") == {"items": [1, 2]}


def test_messages_come_back_as_json_would_give_them(bus):
    """Flat or nested, a message comes out with JSON's types: enums as plain strings, tuples
    as lists (the in-process bus copies flat messages without JSON, with the same result)."""
    from webapp.chat.models import Role

    for payload, expected in (
        ({"role": Role.USER, "seq": 3, "ok": True, "none": None}, {"role": "user"}),
        ({"pair": (1, 2), "text": "т"}, {"pair": [1, 2]}),
    ):
        bus.set("k", payload)
        got = bus.get("k")
        assert got == {**payload, **expected}
        assert all(type(got[key]) is type(value) for key, value in expected.items())


def test_ping(bus):
    assert bus.ping() is True


def test_make_bus_picks_the_implementation_from_the_url():
    assert isinstance(make_bus(""), InProcessBus)
    assert isinstance(make_bus("redis://127.0.0.1:6379/0"), RedisBus)


def test_redis_bus_ping_is_false_when_redis_is_down():
    assert RedisBus("redis://127.0.0.1:1/0").ping() is False


def test_redis_errors_surface_as_bus_unavailable():
    from webapp.bus import BusUnavailable

    down = RedisBus("redis://127.0.0.1:1/0")
    with pytest.raises(BusUnavailable):
        down.get("anything")
    with pytest.raises(BusUnavailable):
        down.publish("c", {"x": 1})


def test_a_subscription_can_add_and_drop_channels(bus):
    subscription = bus.subscribe("base")
    subscription.add("job:1")
    bus.publish("job:1", {"seq": 0})
    bus.publish("base", {"x": 1})
    received = sorted([subscription.get(timeout=2), subscription.get(timeout=2)])
    assert received == [("base", {"x": 1}), ("job:1", {"seq": 0})]
    subscription.discard("job:1")
    time.sleep(0.1)
    bus.publish("job:1", {"seq": 1})
    bus.publish("base", {"x": 2})
    assert subscription.get(timeout=2) == ("base", {"x": 2})
    subscription.close()


def test_a_ring_keeps_only_the_newest_items_oldest_first(bus):
    for n in range(5):
        bus.append("ring", {"n": n}, keep=3)
    assert bus.recent("ring") == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert bus.recent("ring", last=1) == [{"n": 4}]
    assert bus.recent("empty") == []
    bus.delete("ring")
    assert bus.recent("ring") == []


def test_a_claim_belongs_to_one_owner_until_it_expires(bus):
    assert bus.claim("leader", "a", ttl=30)
    assert bus.claim("leader", "a", ttl=30)  # the holder renews
    assert not bus.claim("leader", "b", ttl=30)
    later(bus, 20)
    assert not bus.claim("leader", "b", ttl=30)  # not yet
    later(bus, 15)
    assert bus.claim("leader", "b", ttl=30)


def test_hundreds_of_subscribers_and_values_at_once(bus):
    """A web process holds a subscription per open chat socket (each a Redis connection) and
    still reads and writes values: 300 of them must not exhaust the connection pool."""
    subscriptions = [bus.subscribe("maintenance") for _ in range(300)]
    bus.set("draft:1:1", {"text": "ещё пишу"}, ttl=60)
    bus.publish("maintenance", {"type": "maintenance_start"})
    assert all(
        s.get(timeout=5) == ("maintenance", {"type": "maintenance_start"}) for s in subscriptions
    )
    assert bus.get("draft:1:1") == {"text": "ещё пишу"}
    for subscription in subscriptions:
        subscription.close()


GEVENT_PROBE = """
from gevent import monkey; monkey.patch_all()
import gevent
from webapp.bus import InProcessBus

bus = InProcessBus()
others_ran = []
gevent.spawn(others_ran.append, 1)
bus.push("jobs", {"n": 1})
bus.publish("chat", {"n": 1})
assert not others_ran, "a push or publish gave up its turn"
waiter = gevent.spawn(bus.pop, "later", 5)
gevent.sleep(0.05)
bus.push("later", {"n": 2})
assert waiter.get(timeout=1) == {"n": 2}
print("ok")
"""


def test_the_in_process_bus_never_yields_under_gevent_while_it_holds_its_lock():
    """Under gevent (the web worker), a push must not give up its turn: it did once, holding
    the bus's lock, and every publish of every stream waited for it (Condition.notify checks
    its lock with a non-blocking acquire, and gevent yields when that fails)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_PROBE], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr
