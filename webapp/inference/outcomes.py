"""Storing what happens to the jobs a dispatcher runs: started, answered, ended, given back.

Each outcome is stored in the transaction that ends (or checks) the job's lease, so only the
lease's holder stores one. The steps run in order on a thread of their own, never on a node
link's reader or under the dispatcher's lock: a wait for SQLite's write lock there would hold up
every delta.
"""

from __future__ import annotations

import functools
import logging
import queue as stdqueue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from pc_node import protocol
from webapp.bus import Bus
from webapp.inference import events, jobs, queue
from webapp.inference.queue import QueuedJob
from webapp.inference.relay import Relay
from webapp.inference.state import JobHandler

log = logging.getLogger(__name__)
FAILED = "ИИ не смог ответить."
RETRY = " Попробуйте отправить ещё раз."


class Outcomes:
    def __init__(
        self,
        bus: Bus,
        sessions: Callable[[], Session],
        owner: str,
        relay: Relay,
        max_attempts: int,
    ) -> None:
        self.bus = bus
        self.sessions = sessions
        self.owner = owner
        self.relay = relay
        self.max_attempts = max_attempts
        self.handlers: dict[str, JobHandler] = {}
        self._steps: stdqueue.SimpleQueue[Callable[[], None] | None] = stdqueue.SimpleQueue()
        self._steps_thread: threading.Thread | None = None

    def transaction(self, work: Callable[[Session], Any], *, read_only: bool = False) -> Any:
        """Run `work` in a transaction of its own; None (logged) when it failed. A read-only
        one does not queue for SQLite's write lock."""
        try:
            with self.sessions() as session:
                if read_only:
                    session.connection(execution_options={"read_only": True})
                result = work(session)
                session.commit()
                return result
        except Exception:
            log.exception("dispatcher transaction failed")
            return None

    def _handler(self, job: QueuedJob) -> JobHandler | None:
        return self.handlers.get(job.kind)

    def started(self, job: QueuedJob, node_id: str) -> None:
        handler = self._handler(job)
        if handler is not None:
            self.transaction(lambda session: handler.on_started(session, job))
        events.publish(self.bus, events.Started(job.job_id, node_id))

    def finished(self, job: QueuedJob, text: str, done: protocol.Done) -> None:
        handler = self._handler(job)

        def store(session: Session) -> bool:
            if not queue.finish(session, job, self.owner):
                return False  # the lease lapsed meanwhile: the job runs elsewhere now
            if handler is not None:
                handler.on_done(session, job, text, done)
            return True

        stored = self.transaction(store)
        if stored is None:
            events.publish(self.bus, events.Failed(job.job_id, "Не удалось сохранить ответ."))
        elif stored:
            events.publish(
                self.bus,
                events.Done(job.job_id, text, done.tokens, done.finish_reason, done.prompt_ms),
            )
        self.relay.forget(job.job_id)

    def ended(
        self, job: QueuedJob, partial: str, message: str | None, *, held: bool = True
    ) -> None:
        """The job ends without an answer: stopped (message None) or failed. `held`: it is ours
        to end (a lease); otherwise it was already taken out of the queue."""
        handler = self._handler(job)

        def store(session: Session) -> bool:
            if held and not queue.finish(session, job, self.owner):
                return False
            if handler is not None:
                handler.on_ended(session, job, partial, cancelled=message is None)
            return True

        if self.transaction(store):
            if message is None:
                events.publish(self.bus, events.Cancelled(job.job_id))
            else:
                events.publish(self.bus, events.Failed(job.job_id, message))
        self.relay.forget(job.job_id)

    def give_back(self, job: QueuedJob, reason: str | None, *, count_attempt: bool) -> None:
        """Back to the front of the queue; out of tries, it fails visibly instead."""
        if count_attempt and job.attempt >= self.max_attempts:
            self.ended(job, "", (reason or FAILED) + RETRY)
            return
        back = self.transaction(
            lambda session: queue.give_back(session, job, self.owner, count_attempt=count_attempt)
        )
        if back and reason:
            self.restarted(job, reason)
        else:
            self.relay.forget(job.job_id)
        jobs.wake(self.bus)

    def restarted(self, job: QueuedJob, reason: str) -> None:
        """The job waits again (its try was lost): what devices showed of it is void."""
        self.relay.forget(job.job_id)
        events.publish(self.bus, events.Restarted(job.job_id, reason + " Пробуем ещё раз."))

    def after(self, step: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run a step: in order on the steps' thread once start()ed, at once when the
        dispatcher is driven by hand (tests, benchmarks)."""
        if self._steps_thread is None:
            step(*args, **kwargs)
        else:
            self._steps.put(functools.partial(step, *args, **kwargs))

    def _run_steps(self) -> None:
        while (step := self._steps.get()) is not None:
            try:
                step()
            except Exception:
                log.exception("completion step failed")
            # Under gevent a step (a few ms of SQLite, which never yields) would run straight
            # into the next queued one: when many replies end together, every stream waits for
            # all of them. Each step now lets the other greenlets take a turn first.
            time.sleep(0)

    def start(self) -> None:
        self._steps_thread = threading.Thread(
            target=self._run_steps, name="dispatcher-steps", daemon=True
        )
        self._steps_thread.start()

    def stop(self) -> None:
        if self._steps_thread is not None:
            self._steps.put(None)  # the steps already queued are done first
            self._steps_thread.join(timeout=5)
