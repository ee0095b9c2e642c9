"""The node's writer: one frame at a time, in order; what waits while it is busy goes together."""

from __future__ import annotations

import threading

import pytest

from pc_node import protocol
from pc_node.node import _coalesce, _Outbox


class SlowConnection:
    """Holds the first send until released, as a link busy with a big frame would."""

    def __init__(self) -> None:
        self.frames: list[protocol.Message] = []
        self.release = threading.Event()
        self.first_started = threading.Event()
        self.fail = False

    def send(self, frame: str) -> None:
        if self.fail:
            raise OSError("connection reset")
        if not self.frames:
            self.first_started.set()
            self.release.wait(5)
        self.frames.append(protocol.decode(frame))


def delta(job: str, seq: int) -> protocol.Delta:
    return protocol.Delta(job_id=job, seq=seq, text=f"{job}{seq}")


def test_an_idle_link_sends_each_delta_alone_and_a_busy_one_batches_what_waited():
    connection = SlowConnection()
    outbox = _Outbox(connection)
    outbox.put(delta("a", 0))
    assert connection.first_started.wait(5)
    for message in (delta("b", 0), delta("a", 1), protocol.Done("b", 1, 1.0, 1.0), delta("a", 2)):
        outbox.put(message)
    connection.release.set()
    outbox.close()
    first, joined, done = connection.frames
    assert first == delta("a", 0)
    assert joined.unpack() == [delta("b", 0), delta("a", 1), delta("a", 2)]
    assert done == protocol.Done("b", 1, 1.0, 1.0)


def test_a_batch_keeps_everything_else_in_order_around_its_deltas():
    hello = protocol.Hello("n", "e", "m", 1, 1)
    error = protocol.Error("x", "failed", job_id="c")
    batch = [hello, delta("a", 0), error, delta("a", 1)]
    assert _coalesce(batch) == [hello, protocol.Deltas.pack([delta("a", 0), delta("a", 1)]), error]
    assert _coalesce([hello, delta("a", 0)]) == [hello, delta("a", 0)]


def test_after_a_failed_write_jobs_are_told_the_link_is_gone():
    connection = SlowConnection()
    connection.fail = True
    outbox = _Outbox(connection)
    outbox.put(delta("a", 0))
    outbox._writer.join(5)
    with pytest.raises(ConnectionError):
        outbox.put(delta("a", 1))
