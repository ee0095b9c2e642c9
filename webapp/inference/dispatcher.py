"""The dispatcher: owns the fair queue and the node links of this process.

It takes submitted jobs from the bus, starts them on nodes with free capacity, relays what nodes
send (deltas, done, errors) to each job's bus channel, keeps the partial text for devices that
join mid-stream, retries a job once when its link drops, and writes the AI status.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pc_node import protocol
from webapp.bus import Bus, BusUnavailable, SubscriptionClosed
from webapp.inference import jobs
from webapp.inference.queue import FairQueue, Priority, QueuedJob, QueueRefused
from webapp.inference.state import DispatcherConfig, JobHandler, NodeLink, Running
from webapp.inference.status import write_status
from webapp.maintenance.flag import ai_paused
from webapp.monitoring.catalogue import PC
from webapp.monitoring.samples import ingest as ingest_sample

log = logging.getLogger(__name__)
PARTIAL_EVERY = 0.2  # seconds between saves of a streaming reply's text so far


class Dispatcher:
    def __init__(
        self,
        bus: Bus,
        config: DispatcherConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.config = config or DispatcherConfig()
        self.clock = clock
        self.queue = FairQueue()
        self.links: list[NodeLink] = []
        self.handlers: dict[str, JobHandler] = {}
        self._waiting_since: dict[str, float] = {}
        self._announced: dict[str, tuple[int, float]] = {}
        self._lock = threading.RLock()
        self._control = bus.subscribe(jobs.CONTROL_CHANNEL)
        self._woken_by: tuple[str, dict] | None = None  # the control message the loop woke on
        self._last_status = -1e9
        self.job_seconds = 10.0  # moving average of a job's duration, for ETAs
        self.tokens_per_second = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Completion steps write to the database. They run in order on their own thread (when
        # the dispatcher runs in the background), never on the node link's reader or under the
        # dispatcher's lock: a wait for SQLite's write lock there would hold up every delta.
        self._steps: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._steps_thread: threading.Thread | None = None
        self._paused_checked = -1e9
        self._paused = False

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
        self.tick()
        return link

    def detach(self, link: NodeLink, reason: str) -> None:
        """The link is gone: retry its jobs once elsewhere (or on reconnect), fail the rest."""
        with self._lock:
            if link not in self.links:
                return
            self.links.remove(link)
            orphans = list(link.running.values())
            link.running.clear()
        log.warning("node %s unlinked: %s", link.hello.node_id, reason)
        try:
            link.close()
        except Exception as exc:
            log.debug("closing node %s: %s", link.hello.node_id, exc)
        for running in orphans:
            self._retry_or_fail(running.job, "Связь с ИИ прервалась.")
        self._write_status(force=True)

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
            ingest_sample(self.bus, PC, message.at, message.values)

    def _on_delta(self, link: NodeLink, delta: protocol.Delta) -> None:
        with self._lock:
            running = link.running.get(delta.job_id)
            if running is None or delta.seq != running.next_seq:
                return  # a late frame of a cancelled job, or a duplicate
            running.next_seq += 1
            running.text.append(delta.text)
            if running.first_token_at is None:
                running.first_token_at = self.clock()
        # The text so far, for devices that join mid-reply, is stored at most every
        # PARTIAL_EVERY seconds (and on the first delta): writing the whole, growing text on
        # every delta would cost O(n^2). A joining device that finds it a little behind sees a
        # gap in the numbering and fetches it again (chat.socket).
        now = self.clock()
        if delta.seq == 0 or now - running.partial_saved >= PARTIAL_EVERY:
            running.partial_saved = now
            text = "".join(running.text[: delta.seq + 1])
            self.bus.set(jobs.partial_key(delta.job_id), {"text": text, "seq": delta.seq}, ttl=600)
        self._event(delta.job_id, "delta", seq=delta.seq, text=delta.text)

    def _on_done(self, link: NodeLink, done: protocol.Done) -> None:
        with self._lock:
            running = link.running.pop(done.job_id, None)
        if running is None:
            return
        text = "".join(running.text)
        elapsed = max(self.clock() - running.started, 1e-3)
        self.job_seconds = 0.8 * self.job_seconds + 0.2 * elapsed
        if done.generation_ms > 0 and done.tokens:
            rate = done.tokens / (done.generation_ms / 1000)
            self.tokens_per_second = (
                rate if not self.tokens_per_second else (0.8 * self.tokens_per_second + 0.2 * rate)
            )
        self._after(lambda: self._finished(running.job, text, done))
        self.tick()

    def _finished(self, job: QueuedJob, text: str, done: protocol.Done) -> None:
        handler = self._handler(job)
        if handler is not None:
            try:
                handler.on_done(job, text, done)
            except Exception:
                log.exception("completion handler failed for job %s", done.job_id)
                self._event(
                    done.job_id, "error", message="Не удалось сохранить ответ.", retryable=True
                )
                return
        self._event(
            done.job_id,
            "done",
            text=text,
            tokens=done.tokens,
            finish_reason=done.finish_reason,
            first_token_ms=done.prompt_ms,
        )
        self.bus.delete(jobs.partial_key(done.job_id))

    def _on_error(self, link: NodeLink, error: protocol.Error) -> None:
        if error.job_id is None:
            log.error("node %s reports: %s", link.hello.node_id, error.message)
            return
        with self._lock:
            running = link.running.pop(error.job_id, None)
        if running is None:
            return
        if error.retryable:
            self._retry_or_fail(running.job, "ИИ не смог ответить.")
        else:
            self._fail(
                running.job, "ИИ не смог ответить. Попробуйте ещё раз.", "".join(running.text)
            )
        self.tick()

    # ----- jobs -------------------------------------------------------------------------------
    def _retry_or_fail(self, job: QueuedJob, reason: str) -> None:
        if job.attempts < self.config.max_attempts:
            with self._lock:
                self.queue.push_front(job)
                self._waiting_since.setdefault(job.job_id, self.clock())
            self.bus.delete(jobs.partial_key(job.job_id))
            self._event(job.job_id, "restart", message=reason + " Пробуем ещё раз.")
        else:
            self._fail(job, reason + " Попробуйте отправить ещё раз.")

    def _fail(self, job: QueuedJob, message: str, partial: str = "") -> None:
        self._waiting_since.pop(job.job_id, None)
        self._announced.pop(job.job_id, None)
        self.bus.delete(jobs.partial_key(job.job_id))

        def ended() -> None:
            self._notify_ended(job, partial, cancelled=False)
            self._event(job.job_id, "error", message=message, retryable=True)

        self._after(ended)

    def _handler(self, job: QueuedJob) -> JobHandler | None:
        return self.handlers.get(job.payload.get("kind", ""))

    def _notify_ended(self, job: QueuedJob, partial: str, *, cancelled: bool) -> None:
        handler = self._handler(job)
        if handler is None:
            return
        try:
            handler.on_ended(job, partial, cancelled=cancelled)
        except Exception:
            log.exception("end handler failed for job %s", job.job_id)

    def cancel(self, job_id: str) -> None:
        if self._cancel(job_id):
            self.tick()

    def _background_to_stop(self, busy: set[int]) -> str | None:
        """Every slot is taken and someone's job could start: the newest background job (a
        summary nobody waits for) to stop to make room. It is asked for again later."""
        waiting = self.queue.peek_next(busy)
        if waiting is None or waiting.background:
            return None
        running = [r for link in self.links for r in link.running.values() if r.job.background]
        if not running:
            return None
        return max(running, key=lambda r: r.started).job.job_id

    def _cancel(self, job_id: str) -> bool:
        """Stop the job, waiting or running; the caller ticks. True when there was one."""
        with self._lock:
            waiting = self.queue.cancel(job_id)
            running_on = next((link for link in self.links if job_id in link.running), None)
            running = running_on.running.pop(job_id) if running_on is not None else None
        if running_on is not None:
            try:
                running_on.send(protocol.Cancel(job_id=job_id))
            except Exception as exc:  # the link check will notice a dead socket
                log.debug("cancel of %s not delivered: %s", job_id, exc)
        job = waiting or (running.job if running is not None else None)
        if job is not None:
            self._waiting_since.pop(job_id, None)
            self._announced.pop(job_id, None)
            self.bus.delete(jobs.partial_key(job_id))
            partial = "".join(running.text) if running is not None else ""

            def ended() -> None:
                self._notify_ended(job, partial, cancelled=True)
                self._event(job_id, "cancelled")

            self._after(ended)
        return job is not None

    def _take_submissions(self) -> None:
        while True:
            try:
                item = self.bus.pop(jobs.SUBMIT_QUEUE)
            except BusUnavailable:
                return
            if item is None:
                return
            job = QueuedJob(
                job_id=item["job_id"],
                user_id=int(item["user_id"]),
                priority=Priority(item.get("priority", Priority.USER)),
                payload=item,
            )
            try:
                with self._lock:
                    self.queue.push(job)
                    self._waiting_since[job.job_id] = self.clock()
            except QueueRefused:
                self._event(
                    job.job_id,
                    "error",
                    retryable=False,
                    message="Дождитесь ответа на предыдущее сообщение.",
                )

    def _take_controls(self) -> None:
        while (received := self._woken_by or self._control.get()) is not None:
            self._woken_by = None
            _channel, message = received
            if message.get("action") == "cancel":
                self.cancel(str(message.get("job_id")))
            elif message.get("action") == "revoke_key":
                for link in [x for x in self.links if x.key_id == message.get("key_id")]:
                    self.detach(link, "API key revoked")

    def _maintenance_pause(self) -> bool:
        """During a stop of the AI no job starts (running ones finish, waiting ones wait for
        the end); the flag is read at most four times a second."""
        now = self.clock()
        if now - self._paused_checked >= 0.25:
            self._paused_checked = now
            try:
                self._paused = ai_paused(self.bus) is not None
            except BusUnavailable:
                self._paused = False
        return self._paused

    def _start_jobs(self) -> None:
        if self._maintenance_pause():
            return
        while True:
            with self._lock:
                link = max(self.links, key=lambda item: item.free, default=None)
                if link is None:
                    return
                busy = {
                    r.job.user_id
                    for item in self.links
                    for r in item.running.values()
                    if not r.job.background
                }
                if link.free <= 0:
                    # Full: only stopping a background job for a person's waiting one makes room.
                    stop = self._background_to_stop(busy)
                    if stop is None:
                        return
                else:
                    stop, job = None, self.queue.pop_next(busy)
                    if job is None:
                        return
                    job.attempts += 1
                    link.running[job.job_id] = Running(job, started=self.clock())
                    self._waiting_since.pop(job.job_id, None)
                    self._announced.pop(job.job_id, None)
            if stop is not None:  # outside the lock: stopping it sends to the node
                log.info("background job %s stopped for a waiting reply", stop)
                self._cancel(stop)
                continue
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
            self._after(lambda job=job, node=link.hello.node_id: self._started(job, node))

    def _started(self, job: QueuedJob, node_id: str) -> None:
        handler = self._handler(job)
        if handler is not None:
            try:
                handler.on_started(job)
            except Exception:
                log.exception("start handler failed for job %s", job.job_id)
        self._event(job.job_id, "started", node=node_id)

    def _after(self, step: Callable[[], None]) -> None:
        """Run a completion step: in order on the steps' thread when the dispatcher runs in the
        background (start()), at once when it is driven by hand (tests, benchmarks)."""
        if self._steps_thread is None:
            step()
        else:
            self._steps.put(step)

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

    def _announce_positions(self) -> None:
        """Tell each waiting job its place and ETA when it changed: at once near the front of the
        line, at most once a second further back (a long line would otherwise hear of every
        step forward, which is a lot of traffic for nothing)."""
        capacity = sum(link.hello.capacity for link in self.links) or 1
        running = sum(len(link.running) for link in self.links)
        now = self.clock()
        with self._lock:
            waiting = list(self.queue)
        for place, job in enumerate(waiting, start=1):
            if job.background:
                break  # nobody waits for it; background lanes come last
            last_place, last_time = self._announced.get(job.job_id, (None, -1e9))
            if last_place == place or (place > 3 and now - last_time < 1.0):
                continue
            self._announced[job.job_id] = (place, now)
            eta = (running / capacity + (place - 1) / capacity + 1) * self.job_seconds
            self._event(
                job.job_id, "queued", position=place, eta_s=round(eta), online=bool(self.links)
            )

    def _expire_waiting(self) -> None:
        now = self.clock()
        expired = [
            job_id
            for job_id, since in self._waiting_since.items()
            if now - since > self.config.queue_timeout
        ]
        for job_id in expired:
            with self._lock:
                job = self.queue.cancel(job_id)
            if job is not None:
                self._fail(job, "ИИ сейчас недоступен. Попробуйте позже.")

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
    def status(self) -> dict[str, Any]:
        links = list(self.links)
        if not links:
            return {"state": "offline", "queue": self.queue.waiting()}
        capacity = sum(link.hello.capacity for link in links)
        running = sum(len(link.running) for link in links)
        # Background jobs give way to people's (see _preempt_background): they make nobody
        # wait, so they do not make the AI look busy either.
        background = sum(r.job.background for link in links for r in link.running.values())
        waiting = self.queue.waiting()
        wait = (running - background + waiting) / capacity * self.job_seconds
        newest = max(link.last_seen for link in links)
        return {
            "state": "overloaded" if wait > self.config.overload_wait else "online",
            "model": links[0].hello.model,
            "nodes": [link.hello.node_id for link in links],
            "queue": waiting,
            "background": background + self.queue.waiting(background=True),
            "running": running,
            "capacity": capacity,
            "expected_wait_s": round(wait, 1),
            "tokens_per_s": round(self.tokens_per_second, 1),
            "last_heartbeat": datetime.now(UTC).timestamp() - (self.clock() - newest),
        }

    def _write_status(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_status < self.config.status_every:
            return
        self._last_status = now
        try:
            write_status(self.bus, self.status())
        except BusUnavailable:
            log.warning("cannot write the AI status: bus unavailable")

    def tick(self) -> None:
        """One round of work; cheap when there is nothing to do."""
        with self._lock:
            self._take_controls()
            if self.links:  # only a dispatcher that can run jobs takes from the shared queue
                self._take_submissions()
            self._check_links()
            self._expire_waiting()
            self._start_jobs()
            self._announce_positions()
            self._write_status()

    def _event(self, job_id: str, event: str, **data: Any) -> None:
        self.bus.publish(jobs.job_channel(job_id), {"event": event, "job_id": job_id, **data})

    def start(self, interval: float = 0.05) -> None:
        """Run tick() in a background thread (a greenlet under gevent) until stop()."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                # A round every `interval`, or at once when a job is submitted or cancelled (a
                # control message): a new job must not wait for the next round to start.
                try:
                    self._woken_by = self._control.get(timeout=interval)
                except SubscriptionClosed:
                    return
                if self._stop.is_set():
                    return
                try:
                    self.tick()
                except Exception:
                    log.exception("dispatcher tick failed")

        self._steps_thread = threading.Thread(
            target=self._run_steps, name="dispatcher-steps", daemon=True
        )
        self._steps_thread.start()
        self._thread = threading.Thread(target=loop, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._steps_thread is not None:
            self._steps.put(None)  # the steps already queued are done first
            self._steps_thread.join(timeout=5)
        self._control.close()
