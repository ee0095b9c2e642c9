"""The chat socket's token bucket, on a hand clock."""

from webapp.websocket import FrameBudget, max_message_for


def test_a_burst_then_the_sustained_rate():
    now = [100.0]
    budget = FrameBudget(20, 5.0, clock=lambda: now[0])
    assert all(budget.take() for _ in range(20))
    assert not budget.take()  # the burst is spent
    now[0] += 0.2  # one frame's worth at 5 a second
    assert budget.take() and not budget.take()
    now[0] += 60  # a long pause refills the burst, never beyond it
    assert sum(budget.take() for _ in range(30)) == 20


def test_each_socket_has_its_own_message_size():
    assert max_message_for("/ws/chat/7") == 16 * 1024
    assert max_message_for("/node/ws") == 256 * 1024
    assert max_message_for("/ws/anything-else") == 16 * 1024  # the smaller one by default
