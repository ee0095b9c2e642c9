"""The dispatcher of one web process: runs the deployment's queue on the nodes linked here.

The queue is the database's (inference.queue): every process sees the same order. A dispatcher
claims the next job when one of its nodes has a free slot, renews the leases of the jobs it
runs, relays what nodes send (relay.Relay: deltas, the live cut, the partial text), and stores
each outcome in the transaction that ends its lease. Jobs of a dispatcher that died go back to
the queue when their lease lapses, and whichever dispatcher notices first re-queues them.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pc_node import protocol
from webapp.bus import Bus, BusUnavailable, SubscriptionClosed
from webapp.db import utcnow
from webapp.inference import events, jobs, queue
from webapp.inference.outcomes import FAILED, RETRY, Outcomes
from webapp.inference.relay import Relay
from webapp.inference.state import DispatcherConfig, NodeLink, Running
from webapp.inference.status import (
    DEFAULT_REPLY_TOKENS,
    beat,
    deployment_status,
    expected_reply_s,
    write_status,
)
from webapp.maintenance.flag import ai_paused
from webapp.monitoring import logs
from webapp.monitoring.catalogue import PC
from webapp.monitoring.samples import ingest as ingest_sample

log = logging.getLogger(__name__)
LOST = "Связь с ИИ прервалась."


class Dispatcher:
    def __init__(
        self,
        bus: Bus,
        sessions: Callable[[], Session],
        config: DispatcherConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bus = bus
        self.sessions = sessions
        self.config = config or DispatcherConfig()
        self.clock = clock
        self.now = now
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.links: list[NodeLink] = []
        self.relay = Relay(bus, clock)
        self.outcomes = Outcomes(bus, sessions, self.owner, self.relay, self.config.max_attempts)
        self.handlers = self.outcomes.handlers  # kind -> how its jobs are stored
        self._lock = threading.RLock()
        self._control = bus.subscribe(jobs.CONTROL_CHANNEL)
        self._woken_by: tuple[str, dict] | None = None  # the control message the loop woke on
        self._due: dict[str, float] = {}  # periodic duties -> when they last ran
        self._announced: dict[str, int] = {}  # waiting job -> the place it was last told
        self._line_moved = True  # places may have changed: tell the waiting at the next round
        self._claimed_last = False  # the last claim found a job: more may be waiting
        self.reply_tokens = float(DEFAULT_REPLY_TOKENS)  # moving average, for ETAs
        self.tokens_per_second = 0.0
        self.first_token_s = 0.5  # moving average of the time to a reply's first token
        self._paused = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ----- links -------------------------------------------------------------------------------
    def attach(
        self,
        hello: protocol.Hello,
        send: Callable[[str], None],
        close: Callable[[], None],
        *,
        key_id: int | None = None,
    ) -> NodeLink:
        link = NodeLink(hello, send, close, last_seen=self.clock(), key_id=key_id)
        with self._lock:
            self.links.append(link)
        log.info("node %s linked: %s, capacity %d", hello.node_id, hello.model, hello.capacity)
        self.outcomes.after(
            self._log, "node_linked", node=hello.node_id, model=hello.model, capacity=hello.capacity
        )
        self._due.pop("status", None)
        self._wake()
        return link

    def detach(self, link: NodeLink, reason: str) -> None:
        """The link is gone: its jobs go back to the front of the queue (or fail, out of tries)."""
        with self._lock:
            if link not in self.links:
                return
            self.links.remove(link)
            orphans = [r for r in link.running.values() if r.stopping_since is None]
            link.running.clear()
        log.warning("node %s unlinked: %s", link.hello.node_id, reason)
        self.outcomes.after(self._log, "node_unlinked", node=link.hello.node_id, reason=reason)
        try:
            link.close()
        except Exception as exc:
            log.debug("closing node %s: %s", link.hello.node_id, exc)
        for running in orphans:
            self.outcomes.after(self.outcomes.give_back, running.job, LOST, count_attempt=True)
        self.outcomes.after(self._write_status)

    def on_frame(self, link: NodeLink, message: protocol.Message) -> None:
        """Everything a node sends comes through here (from its socket's reader)."""
        link.last_seen = self.clock()
        if isinstance(message, protocol.Delta):
            self._on_delta(link, message)
        elif isinstance(message, protocol.Deltas):
            for delta in message.unpack():
                self._on_delta(link, delta)
        elif isinstance(message, protocol.Done):
            self._on_done(link, message)
        elif isinstance(message, protocol.Error):
            self._on_error(link, message)
        elif isinstance(message, protocol.Metrics):
            # Redis away: a gap in the charts; the link and its jobs go on.
            with contextlib.suppress(BusUnavailable):
                ingest_sample(self.bus, PC, message.at, message.values)

    def _on_delta(self, link: NodeLink, delta: protocol.Delta) -> None:
        with self._lock:
            running = link.running.get(delta.job_id)
            if running is None:
                log.info("node %s: delta for a job it does not hold", link.hello.node_id)
                return
            if running.stopping_since is not None or delta.seq != running.next_seq:
                return  # a late frame of a stopped job, or a duplicate
            running.next_seq += 1
            running.text.append(delta.text)
            if running.first_token_at is None:
                running.first_token_at = self.clock()
        # Published outside the lock (a publish to Redis may yield): only this link's reader
        # streams this job, so its relay state needs no lock.
        if self.relay.delta(running, delta.text):
            running.stopping_since = self.clock()
            # The reply reached the length it will be stored at: stored now, exactly as
            # people watched it, and the node stops generating what nobody would see.
            self._send_cancel(link, delta.job_id)
            done = protocol.Done(
                job_id=delta.job_id,
                tokens=running.next_seq,
                prompt_ms=0,
                generation_ms=0,
                finish_reason="length",
            )
            self.outcomes.after(self.outcomes.finished, running.job, running.text_so_far(), done)

    def _on_done(self, link: NodeLink, done: protocol.Done) -> None:
        with self._lock:
            running = link.running.pop(done.job_id, None)
        if running is None:
            log.info("node %s: done for a job it does not hold", link.hello.node_id)
            return
        if running.stopping_since is not None:  # cancelled or cut: its outcome is stored
            self._wake()
            return
        self.relay.flush(running)
        if done.dropped:
            log.info("job %s: the node left out %d old turns to fit", done.job_id, done.dropped)
        if done.tokens:
            self.reply_tokens = 0.8 * self.reply_tokens + 0.2 * done.tokens
            self.first_token_s = 0.8 * self.first_token_s + 0.2 * done.prompt_ms / 1000
        if done.generation_ms > 0 and done.tokens:
            rate = done.tokens / (done.generation_ms / 1000)
            self.tokens_per_second = (
                rate if not self.tokens_per_second else (0.8 * self.tokens_per_second + 0.2 * rate)
            )
        self.outcomes.after(self.outcomes.finished, running.job, running.text_so_far(), done)
        self._wake()

    def _on_error(self, link: NodeLink, error: protocol.Error) -> None:
        if error.job_id is None:
            log.error("node %s reports: %s", link.hello.node_id, error.message)
            return
        with self._lock:
            running = link.running.pop(error.job_id, None)
        if running is None:
            log.info("node %s: error for a job it does not hold", link.hello.node_id)
            return
        if running.stopping_since is not None:
            self._wake()
            return
        job = running.job
        if error.code == "busy":
            # The node is still finishing something (a reply just stopped, say): the job was
            # never started, it goes back to the front of the line and this link waits a moment.
            link.rest_until = self.clock() + 0.5
            self.outcomes.after(self.outcomes.give_back, job, None, count_attempt=False)
        elif error.retryable:
            self.outcomes.after(self.outcomes.give_back, job, FAILED, count_attempt=True)
        else:
            partial = running.text_so_far()
            self.outcomes.after(self.outcomes.ended, job, partial, FAILED + RETRY)
        self._wake()

    def _send_cancel(self, link: NodeLink, job_id: str) -> None:
        try:
            link.send(protocol.Cancel(job_id=job_id))
        except Exception as exc:  # the link check will notice a dead socket
            log.debug("cancel of %s not delivered: %s", job_id, exc)

    # ----- control --------------------------------------------------------------------------
    def cancel(self, job_id: str) -> None:
        """Stop a job this dispatcher runs (the queue already marked it): the node stops, the
        slot frees when it confirms, the partial text is kept."""
        found = self._running(job_id)
        if found is None:
            return
        link, running = found
        with self._lock:
            if running.stopping_since is not None:
                return
            running.stopping_since = self.clock()
        self._send_cancel(link, job_id)
        partial = running.text_so_far()
        self.outcomes.after(self.outcomes.ended, running.job, partial, None)

    def _drop(self, job_id: str) -> None:
        """A job whose lease is not ours any more: stop it on the node, store nothing."""
        found = self._running(job_id)
        if found is None:
            return
        link, running = found
        running.stopping_since = self.clock()
        self._send_cancel(link, job_id)
        log.warning("job %s: lease lost, it runs elsewhere now", job_id)

    def _running(self, job_id: str) -> tuple[NodeLink, Running] | None:
        with self._lock:
            for link in self.links:
                if job_id in link.running:
                    return link, link.running[job_id]
        return None

    def _take_controls(self) -> None:
        while (received := self._woken_by or self._control.get()) is not None:
            self._woken_by = None
            _channel, message = received
            self._line_moved = True
            if message.get("action") == "cancel":
                self.cancel(str(message.get("job_id")))
            elif message.get("action") == "revoke_key":
                for link in [x for x in self.links if x.key_id == message.get("key_id")]:
                    self.detach(link, "API key revoked")

    def _maintenance_pause(self) -> bool:
        """During a stop of the AI no job starts (running ones finish, waiting ones wait)."""
        if self._every("pause", 0.25):  # (Redis away: read as no stop, see ai_paused)
            self._paused = ai_paused(self.bus) is not None
        return self._paused

    # ----- scheduling -----------------------------------------------------------------------
    def _start_jobs(self) -> None:
        if self._maintenance_pause():
            return
        while True:
            now = self.clock()
            with self._lock:
                ready = [item for item in self.links if item.rest_until <= now]
                link = max(ready, key=lambda item: item.free, default=None)
            if link is None or link.free <= 0:
                return
            # After a round that found nothing, look (reading) before claiming (writing).
            if not self._claimed_last and not self.outcomes.transaction(
                queue.any_waiting, read_only=True
            ):
                return
            job = self.outcomes.transaction(
                lambda session: queue.claim_next(session, self.owner, self.now())
            )
            self._claimed_last = job is not None
            if job is None:
                return
            self._line_moved = True
            with self._lock:
                if link not in self.links:  # gone meanwhile: the job goes back
                    self.outcomes.after(self.outcomes.give_back, job, None, count_attempt=False)
                    continue
                link.running[job.job_id] = Running(job, started=self.clock())
            payload = job.payload
            try:
                link.send(
                    protocol.Job(
                        job_id=job.job_id,
                        messages=payload["messages"],
                        max_tokens=payload["max_tokens"],
                        temperature=payload.get("temperature", 0.7),
                        stop=payload.get("stop", []),
                    )
                )
            except Exception as exc:
                self.detach(link, f"send failed: {exc}")
                continue
            self.outcomes.after(self.outcomes.started, job, link.hello.node_id)

    def _stop_background_for_people(self) -> None:
        """Every slot is taken and a person waits: the newest background job (a summary nobody
        waits for) stops to make room; it is asked for again later."""
        with self._lock:
            if any(link.free > 0 for link in self.links):
                return
            background = [
                r
                for link in self.links
                for r in link.running.values()
                if r.job.background and r.stopping_since is None
            ]
        if not background or not self._announced:
            return
        newest = max(background, key=lambda r: r.started).job
        log.info("background job %s stopped for a waiting reply", newest.job_id)
        stopped = self.outcomes.transaction(lambda session: queue.cancel(session, newest.job_id))
        if stopped is not None:
            self.cancel(newest.job_id)

    def _renew_leases(self) -> None:
        with self._lock:
            mine = [
                job_id
                for link in self.links
                for job_id, r in link.running.items()
                if r.stopping_since is None
            ]
            stale = [
                (link, job_id)
                for link in self.links
                for job_id, r in link.running.items()
                if r.stopping_since is not None
                and self.clock() - r.stopping_since > self.config.cancel_grace
            ]
            for link, job_id in stale:  # the node never confirmed: the slot is free anyway
                link.running.pop(job_id, None)
        if not mine:
            return
        renewed = self.outcomes.transaction(lambda s: queue.renew(s, self.owner, mine, self.now()))
        if renewed is None:
            return  # the database is away: try again next round (the lease has slack)
        held, stop = renewed
        for job_id in mine:
            if job_id not in held:
                self._drop(job_id)
            elif job_id in stop:
                self.cancel(job_id)

    def _requeue_lapsed(self) -> None:
        lapsed = self.outcomes.transaction(
            lambda session: queue.requeue_lapsed(session, self.now(), self.config.max_attempts)
        )
        if lapsed is None:
            return
        for job in lapsed.requeued:
            self.outcomes.restarted(job, LOST)
        for job in lapsed.failed:
            self.outcomes.after(self.outcomes.ended, job, "", LOST + RETRY, held=False)
        for job in lapsed.cancelled:
            self.outcomes.after(self.outcomes.ended, job, "", None, held=False)
        if lapsed.requeued:
            log.warning("re-queued %d jobs whose holder stopped renewing", len(lapsed.requeued))

    def _expire_waiting(self) -> None:
        expired = self.outcomes.transaction(
            lambda session: queue.expire_waiting(session, self.now(), self.config.queue_timeout)
        )
        message = "ИИ сейчас недоступен. Попробуйте позже."
        for job in expired or []:
            self.outcomes.after(self.outcomes.ended, job, "", message, held=False)

    def _announce_positions(self) -> None:
        """Tell each waiting person their place and ETA when it changed."""
        places = self.outcomes.transaction(queue.positions)
        if places is None:
            return
        etas = self._etas(len(places))
        for job_id, place in places.items():
            if self._announced.get(job_id) == place:
                continue
            self._announced[job_id] = place
            events.publish(self.bus, events.Queued(job_id, place, round(etas[place - 1])))
        for job_id in [x for x in self._announced if x not in places]:
            del self._announced[job_id]

    def reply_seconds(self) -> float:
        """A reply as measured: the time to its first token plus its tokens at the measured
        speed."""
        return expected_reply_s(self.tokens_per_second, self.reply_tokens, self.first_token_s)

    def _etas(self, waiting: int) -> list[float]:
        """Seconds until each of the first `waiting` places has its answer: every slot of the
        nodes linked here frees when its reply ends (the measured length less what it has run
        already), the line takes the slots in order."""
        per_reply = self.reply_seconds()
        now = self.clock()
        with self._lock:
            free_at = [
                max(per_reply - (now - r.started), 0.1 * per_reply)
                for link in self.links
                for r in link.running.values()
                if not r.job.background
            ]
            capacity = sum(link.hello.capacity for link in self.links) or 1
        free_at += [0.0] * max(capacity - len(free_at), 0)
        heapq.heapify(free_at)
        etas = []
        for _ in range(waiting):
            start = heapq.heappop(free_at)
            etas.append(start + per_reply)
            heapq.heappush(free_at, start + per_reply)
        return etas

    def _check_links(self) -> None:
        now = self.clock()
        for link in list(self.links):
            if now - link.last_seen > self.config.link_timeout:
                self.detach(link, "no heartbeat")
            elif now - link.last_ping >= self.config.ping_every:
                link.last_ping = now
                try:
                    link.send(protocol.Ping(nonce=str(int(now * 1000))))
                except Exception as exc:
                    self.detach(link, f"ping failed: {exc}")

    # ----- status and loop ----------------------------------------------------------------------
    def _log(self, event: str, **detail: Any) -> None:
        """An entry of the system log, in a transaction of its own."""
        self.outcomes.transaction(lambda session: logs.system(session, event, **detail))

    def _write_status(self) -> None:
        """Heartbeats of the nodes linked here, then the deployment's status from everyone's."""
        with self._lock:
            nodes = [
                {
                    "id": f"{self.owner}:{index}:{link.hello.node_id}"[:120],
                    "node_id": link.hello.node_id[:64],
                    "model": link.hello.model[:120],
                    "context_size": link.hello.context_size,
                    "capacity": link.hello.capacity,
                    "running": len(link.running),
                    "tokens_per_s": round(self.tokens_per_second, 2),
                }
                for index, link in enumerate(self.links)
            ]

        def work(session: Session) -> dict[str, Any]:
            now = self.now()
            beat(session, self.owner, nodes, now)
            session.flush()
            return deployment_status(
                session,
                now,
                overload_wait=self.config.overload_wait,
                reply_tokens=self.reply_tokens,
                first_token_s=self.first_token_s,
            )

        record = self.outcomes.transaction(work)
        if record is None:
            return
        try:
            write_status(self.bus, record)
        except BusUnavailable:
            log.warning("cannot write the AI status: bus unavailable")

    def _wake(self) -> None:
        """A slot may be free or the line moved: the next round, at once. It runs on the
        dispatcher's own thread (a claim is a database write, and the caller may be a node link's
        reader, whose deltas must not wait for it); driven by hand, here and now."""
        if self._thread is None:
            self.tick()
        else:
            self._control.deliver((jobs.CONTROL_CHANNEL, {"action": "wake"}))

    def _every(self, duty: str, seconds: float) -> bool:
        now = self.clock()
        if now - self._due.get(duty, -1e9) < seconds:
            return False
        self._due[duty] = now
        return True

    def tick(self) -> None:
        """One round of work; cheap when there is nothing to do."""
        with self._lock:
            self._take_controls()
            self._check_links()
        config = self.config
        if self._every("lapsed", config.lapsed_every):
            self._requeue_lapsed()
        if self._every("expire", 5.0):
            self._expire_waiting()
        if not self.links:
            return  # only a dispatcher with nodes runs, renews, announces and reports
        if self._every("renew", config.renew_every):
            self._renew_leases()
        self._start_jobs()
        # Places are read again at most four times a second while the line moves (a long line
        # would otherwise be read at every start), and once a second anyway.
        if self._every("announce", 0.25 if self._line_moved else 1.0):
            self._line_moved = False
            self._announce_positions()
            self._stop_background_for_people()
        if self._every("status", config.status_every):
            self._write_status()

    def start(self) -> None:
        """Run tick() in a background thread (a greenlet under gevent) until stop()."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                # A round every poll_every, or at once when a job is submitted or cancelled.
                try:
                    self._woken_by = self._control.get(timeout=self.config.poll_every)
                except SubscriptionClosed:
                    return
                except BusUnavailable:
                    time.sleep(self.config.poll_every)
                if self._stop.is_set():
                    return
                try:
                    self.tick()
                except Exception:
                    log.exception("dispatcher tick failed")

        self.outcomes.start()
        self._thread = threading.Thread(target=loop, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.outcomes.stop()
        self._control.close()
