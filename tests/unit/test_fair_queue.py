import pytest

from webapp.inference.queue import FairQueue, Priority, QueuedJob, QueueRefused


def job(job_id: str, user: int, priority: Priority = Priority.USER) -> QueuedJob:
    return QueuedJob(job_id=job_id, user_id=user, priority=priority)


def test_one_waiting_job_per_user_and_priority():
    queue = FairQueue()
    queue.push(job("a1", 1))
    with pytest.raises(QueueRefused):
        queue.push(job("a2", 1))
    queue.push(job("a-preview", 1, Priority.PREVIEW))
    assert len(queue) == 2


def test_three_users_five_turns_each_come_out_interleaved():
    """Each user submits their next message once the previous one started (one at a time)."""
    queue = FairQueue()
    remaining = {user: 5 for user in (1, 2, 3)}
    for user in remaining:
        queue.push(job(f"{user}-{remaining[user]}", user))
    order = []
    while (next_job := queue.pop_next()) is not None:
        order.append(next_job.user_id)
        remaining[next_job.user_id] -= 1
        if remaining[next_job.user_id]:
            queue.push(job(f"{next_job.user_id}-{remaining[next_job.user_id]}", next_job.user_id))
    assert order == [1, 2, 3] * 5


def test_people_before_previews_before_summaries():
    queue = FairQueue()
    queue.push(job("summary", 1, Priority.SUMMARY))
    queue.push(job("preview", 2, Priority.PREVIEW))
    queue.push(job("chat", 3))
    assert [queue.pop_next().job_id for _ in range(3)] == ["chat", "preview", "summary"]


def test_users_with_a_running_job_are_skipped():
    queue = FairQueue()
    queue.push(job("busy-user", 1))
    queue.push(job("free-user", 2))
    assert queue.pop_next(busy_users={1}).job_id == "free-user"
    assert queue.pop_next(busy_users={1}) is None
    assert queue.pop_next().job_id == "busy-user"


def test_positions_cancel_and_retry_at_the_front():
    queue = FairQueue()
    for n in range(3):
        queue.push(job(f"j{n}", n))
    assert [queue.position(f"j{n}") for n in range(3)] == [1, 2, 3]
    assert queue.cancel("j1").job_id == "j1"
    assert queue.position("j2") == 2 and queue.position("j1") is None
    assert queue.cancel("nope") is None
    queue.push_front(job("retry", 9))
    assert queue.position("retry") == 1 and queue.find("retry").user_id == 9
