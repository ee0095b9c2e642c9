"""The message bus: publish/subscribe, a simple FIFO work queue and small expiring values.

One interface, two implementations: InProcessBus for the embedded default (one process) and RedisBus
when REDIS_URL is set (several web workers, the Huey worker and hosts share it). Messages are
JSON-serialisable dicts. tests/app/test_bus_contract.py runs one suite against both.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import redis

T = TypeVar("T")

Message = dict[str, Any]


class BusUnavailable(RuntimeError):
    """The shared bus (Redis) cannot be reached; callers decide whether that is fatal."""


class Subscription(Protocol):
    def get(self, timeout: float | None = 0.0) -> tuple[str, Message] | None:
        """The next (channel, message) or None when nothing arrived within timeout seconds
        (None: wait as long as it takes). Raises SubscriptionClosed once closed meanwhile."""

    def add(self, *channels: str) -> None:
        """Also listen on these channels from now on."""

    def discard(self, *channels: str) -> None:
        """Stop listening on these channels."""

    def deliver(self, item: tuple[str, Message]) -> None:
        """Put an item in this inbox from within the process (a wake-up of its reader)."""

    def close(self) -> None: ...


class Bus(Protocol):
    def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, *channels: str) -> Subscription: ...

    def push(self, queue_name: str, item: Message) -> None: ...

    def pop(self, queue_name: str, timeout: float = 0.0) -> Message | None: ...

    def queue_length(self, queue_name: str) -> int: ...

    def set(self, key: str, value: Message, ttl: float | None = None) -> None: ...

    def get(self, key: str) -> Message | None: ...

    def delete(self, key: str) -> None: ...

    def append(self, key: str, item: Message, keep: int) -> None:
        """Add to a ring that keeps only the newest `keep` items."""

    def recent(self, key: str, last: int = 0) -> list[Message]:
        """A ring's items, oldest first; only the newest `last` of them when last > 0."""

    def claim(self, key: str, owner: str, ttl: float) -> bool:
        """Hold `key` for `owner` for ttl seconds: True when it is ours, False when another's."""

    def ping(self) -> bool: ...


_CLOSED: Any = object()


class SubscriptionClosed(RuntimeError):
    """get() on a subscription that was closed (by another thread, say)."""


class _LocalSubscription:
    """A subscriber's own inbox; the in-process bus and the Redis hub both fill it.

    A deque and an Event rather than queue.Queue: a chat socket waits on its inbox once per
    token of a streaming reply, and Queue's Condition allocates a new lock for every wait."""

    def __init__(self, bus: InProcessBus | _RedisHub, channels: tuple[str, ...]) -> None:
        self._bus = bus
        self.channels: set[str] = set()
        self._items: deque[tuple[str, Message]] = deque()
        self._ready = threading.Event()
        self.add(*channels)

    def deliver(self, item: tuple[str, Message]) -> None:
        self._items.append(item)
        self._ready.set()

    def add(self, *channels: str) -> None:
        self._bus._listen(self, channels)

    def discard(self, *channels: str) -> None:
        self._bus._unlisten(self, channels)

    def get(self, timeout: float | None = 0.0) -> tuple[str, Message] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                item = self._items.popleft()
            except IndexError:
                # Clear, then look again: an item delivered in between has set the event after
                # the clear (or is seen by the look), so no wake-up is ever lost.
                self._ready.clear()
                if self._items:
                    continue
                if deadline is None:
                    self._ready.wait()  # no timer to arm: the cheapest wait there is
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._ready.wait(remaining):
                    return None
                continue
            if item is _CLOSED:
                raise SubscriptionClosed
            return item

    def close(self) -> None:
        self._bus._unlisten(self, tuple(self.channels))
        self.deliver(_CLOSED)  # wakes a reader blocked in get() at once


class InProcessBus:
    """All in this process's memory: right for `make run` and tests, not for several workers.

    `clock` (monotonic seconds) decides when values and claims expire; tests hand in their own.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[_LocalSubscription]] = defaultdict(list)
        self._queues: dict[str, deque[Message]] = defaultdict(deque)
        # One Event per queue, not a Condition: Condition.notify() checks that the lock is held
        # with a non-blocking acquire, and under gevent a non-blocking acquire that fails yields.
        # A job's submission then left the bus locked while every other greenlet ran, and every
        # publish (tokens, chat events) waited for it: when 100 people pressed send at once,
        # their messages reached their other devices ~0.5 s late, all of them.
        self._pushed: dict[str, threading.Event] = defaultdict(threading.Event)
        self._values: dict[str, tuple[Message, float | None]] = {}
        self._rings: dict[str, deque[Message]] = {}

    def publish(self, channel: str, message: Message) -> None:
        payload = _roundtrip(message)
        with self._lock:
            receivers = list(self._subscribers.get(channel, ()))
        for subscription in receivers:
            subscription.deliver((channel, payload))

    def subscribe(self, *channels: str) -> _LocalSubscription:
        return _LocalSubscription(self, channels)

    def _listen(self, subscription: _LocalSubscription, channels: tuple[str, ...]) -> None:
        with self._lock:
            for channel in channels:
                if channel not in subscription.channels:
                    subscription.channels.add(channel)
                    self._subscribers[channel].append(subscription)

    def _unlisten(self, subscription: _LocalSubscription, channels: tuple[str, ...]) -> None:
        with self._lock:
            for channel in channels:
                subscription.channels.discard(channel)
                if subscription in self._subscribers.get(channel, []):
                    self._subscribers[channel].remove(subscription)
                    if not self._subscribers[channel]:
                        del self._subscribers[channel]

    def push(self, queue_name: str, item: Message) -> None:
        payload = _roundtrip(item)
        with self._lock:
            self._queues[queue_name].append(payload)
            pushed = self._pushed[queue_name]
        pushed.set()

    def pop(self, queue_name: str, timeout: float = 0.0) -> Message | None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                items = self._queues[queue_name]
                if items:
                    return items.popleft()
                # Cleared under the lock after seeing the queue empty: a push after this sets
                # it again, so a wake-up is never lost.
                pushed = self._pushed[queue_name]
                pushed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            pushed.wait(remaining)

    def queue_length(self, queue_name: str) -> int:
        with self._lock:
            return len(self._queues.get(queue_name, ()))

    def set(self, key: str, value: Message, ttl: float | None = None) -> None:
        expires = self.clock() + ttl if ttl else None
        with self._lock:
            self._values[key] = (_roundtrip(value), expires)

    def get(self, key: str) -> Message | None:
        with self._lock:
            entry = self._values.get(key)
            if entry is None:
                return None
            value, expires = entry
            if expires is not None and expires <= self.clock():
                del self._values[key]
                return None
            return value

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._rings.pop(key, None)

    def append(self, key: str, item: Message, keep: int) -> None:
        payload = _roundtrip(item)
        with self._lock:
            ring = self._rings.get(key)
            if ring is None or ring.maxlen != keep:
                ring = self._rings[key] = deque(ring or (), maxlen=keep)
            ring.append(payload)

    def recent(self, key: str, last: int = 0) -> list[Message]:
        with self._lock:
            items = list(self._rings.get(key, ()))
        return items[-last:] if last > 0 else items

    def claim(self, key: str, owner: str, ttl: float) -> bool:
        with self._lock:
            entry = self._values.get(key)
            now = self.clock()
            if entry and entry[1] is not None and entry[1] > now and entry[0].get("owner") != owner:
                return False
            self._values[key] = ({"owner": owner}, now + ttl)
            return True

    def ping(self) -> bool:
        return True


class _RedisHub:
    """One pub/sub connection per RedisBus, shared by every subscription of the process: a
    reader thread takes Redis messages and puts them into the subscriptions' own queues (the
    same _LocalSubscription the in-process bus uses). A thousand open chat sockets then cost
    one Redis connection, not a thousand.

    The hub's client has no health-check PINGs: those would be written from the reader thread
    while another thread writes a SUBSCRIBE. A broken connection is re-made by redis-py on the
    next read, and it subscribes the channels again."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
        self._prefix = prefix
        self._pubsub = self._client.pubsub()
        self._lock = threading.Lock()  # members, and every write to the pub/sub connection
        self._members: dict[str, list[_LocalSubscription]] = {}
        self._confirmed: dict[str, threading.Event] = {}
        self._reader: threading.Thread | None = None

    def _listen(self, subscription: _LocalSubscription, channels: tuple[str, ...]) -> None:
        waits = []
        with self._lock:
            new = []
            for channel in channels:
                if channel in subscription.channels:
                    continue
                subscription.channels.add(channel)
                members = self._members.setdefault(channel, [])
                if not members:
                    new.append(channel)
                    self._confirmed[channel] = threading.Event()
                members.append(subscription)
                waits.append(self._confirmed[channel])
            if new:
                self._pubsub.subscribe(*(self._prefix + channel for channel in new))
            if self._reader is None or not self._reader.is_alive():
                self._reader = threading.Thread(target=self._read, name="redis-bus", daemon=True)
                self._reader.start()
        # Redis has confirmed every channel when this returns: a publish right after is seen.
        for event in waits:
            event.wait(timeout=2)  # Redis may be away: a socket must not hang on it

    def _unlisten(self, subscription: _LocalSubscription, channels: tuple[str, ...]) -> None:
        with self._lock:
            gone = []
            for channel in channels:
                subscription.channels.discard(channel)
                members = self._members.get(channel)
                if members and subscription in members:
                    members.remove(subscription)
                    if not members:
                        del self._members[channel]
                        self._confirmed.pop(channel, None)
                        gone.append(channel)
            if gone:
                self._pubsub.unsubscribe(*(self._prefix + channel for channel in gone))

    def _read(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    time.sleep(0.05)
                    continue
                raw = self._pubsub.get_message(timeout=1.0)
            except (redis.RedisError, OSError, ValueError):
                time.sleep(0.5)  # redis-py reconnects and subscribes again on the next read
                continue
            if raw is None:
                continue
            channel = raw["channel"].removeprefix(self._prefix)
            if raw["type"] == "subscribe":
                with self._lock:
                    event = self._confirmed.get(channel)
                if event is not None:
                    event.set()
            elif raw["type"] == "message":
                message = json.loads(raw["data"])
                with self._lock:
                    members = list(self._members.get(channel, ()))
                for subscription in members:
                    subscription.deliver((channel, message))


MAX_CONNECTIONS = 4096


def _unavailable_on_redis_error(method: Callable[..., T]) -> Callable[..., T]:
    """A bus method whose Redis errors surface as BusUnavailable (every caller handles that)."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise BusUnavailable(str(exc)) from exc

    return call


BUS_TIMEOUT = 1.5  # seconds a Redis command may take


class RedisBus:
    """Redis pub/sub, lists as queues and SET EX values, all under one key prefix.

    Redis errors surface as BusUnavailable, the same for every caller.
    """

    def __init__(self, url: str, prefix: str = "mehhost:") -> None:
        self.client = redis.Redis.from_url(
            url,
            decode_responses=True,
            health_check_interval=30,
            socket_connect_timeout=2,
            # A Redis that hangs (paused, overloaded) must not hang the page: a command gets
            # 1.5 s, then the caller hears BusUnavailable (and a page answers 503).
            socket_timeout=BUS_TIMEOUT,
            # Commands from many greenlets at once (a hundred chats streaming) need more than
            # redis-py's default pool of 100; subscriptions share the hub's one connection.
            max_connections=MAX_CONNECTIONS,
        )
        self.prefix = prefix
        self._hub = _RedisHub(url, prefix)

    @_unavailable_on_redis_error
    def publish(self, channel: str, message: Message) -> None:
        self.client.publish(self.prefix + channel, json.dumps(message))

    @_unavailable_on_redis_error
    def subscribe(self, *channels: str) -> _LocalSubscription:
        return _LocalSubscription(self._hub, channels)

    @_unavailable_on_redis_error
    def push(self, queue_name: str, item: Message) -> None:
        self.client.rpush(self.prefix + "q:" + queue_name, json.dumps(item))

    @_unavailable_on_redis_error
    def pop(self, queue_name: str, timeout: float = 0.0) -> Message | None:
        key = self.prefix + "q:" + queue_name
        if timeout > 0:
            found = self.client.blpop([key], timeout=timeout)
            return json.loads(found[1]) if found else None
        raw = self.client.lpop(key)
        return json.loads(raw) if raw else None

    @_unavailable_on_redis_error
    def queue_length(self, queue_name: str) -> int:
        return int(self.client.llen(self.prefix + "q:" + queue_name))

    @_unavailable_on_redis_error
    def set(self, key: str, value: Message, ttl: float | None = None) -> None:
        px = int(ttl * 1000) if ttl else None
        self.client.set(self.prefix + key, json.dumps(value), px=px)

    @_unavailable_on_redis_error
    def get(self, key: str) -> Message | None:
        raw = self.client.get(self.prefix + key)
        return json.loads(raw) if raw else None

    @_unavailable_on_redis_error
    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    @_unavailable_on_redis_error
    def append(self, key: str, item: Message, keep: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.rpush(self.prefix + key, json.dumps(item))
        pipe.ltrim(self.prefix + key, -keep, -1)
        pipe.execute()

    @_unavailable_on_redis_error
    def recent(self, key: str, last: int = 0) -> list[Message]:
        start = -last if last > 0 else 0
        return [json.loads(raw) for raw in self.client.lrange(self.prefix + key, start, -1)]

    @_unavailable_on_redis_error
    def claim(self, key: str, owner: str, ttl: float) -> bool:
        full = self.prefix + key
        value = json.dumps({"owner": owner})
        if self.client.set(full, value, nx=True, px=int(ttl * 1000)):
            return True
        # Ours already: extend it. A check-then-set race only matters when the holder's TTL ran
        # out this very moment, and then both think they hold it for one round at most.
        if self.client.get(full) == value:
            self.client.pexpire(full, int(ttl * 1000))
            return True
        return False

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _roundtrip(message: Message) -> Message:
    # The in-process bus hands out copies that went through JSON, exactly as Redis would, so code
    # that works on the embedded default cannot rely on sharing objects or on non-JSON types.
    # A flat message of plain values (every streamed token's event) comes out of JSON as a plain
    # copy of itself: made directly, at a tenth of the cost.
    if type(message) is dict and all(
        type(key) is str and type(value) in _PLAIN for key, value in message.items()
    ):
        return dict(message)
    return json.loads(json.dumps(message))


def make_bus(redis_url: str, prefix: str = "mehhost:") -> Bus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
