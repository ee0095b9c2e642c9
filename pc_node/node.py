"""One link session: say hello, run jobs on the engine, stream deltas back, report metrics.

Transport-agnostic: `serve(connection)` takes anything with send(str), recv(timeout) and close(),
which is what websockets' sync client and server connections offer, in either dialing direction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pc_node import protocol
from pc_node.engines.base import Engine, EngineError, Generation, token_counter
from pc_node.engines.think import strip_thinking
from pc_node.fit import fit

log = logging.getLogger(__name__)


class Connection(Protocol):
    def send(self, message: str) -> None: ...

    def recv(self, timeout: float | None = None) -> str | bytes: ...

    def close(self) -> None: ...


class NodeRunner:
    def __init__(
        self,
        engine: Engine,
        *,
        node_id: str,
        capacity: int = 1,
        metrics: Callable[[], dict[str, Any]] | None = None,
        metrics_every: float = 5.0,
    ) -> None:
        self.engine = engine
        self.node_id = node_id
        self.capacity = capacity
        self.metrics = metrics
        self.metrics_every = metrics_every
        self._jobs: dict[str, Generation] = {}
        self._lock = threading.Lock()
        self.last_first_token_ms: float | None = None

    def serve(self, connection: Connection, stop: threading.Event | None = None) -> None:
        """Run one session until the connection closes (or `stop` is set)."""
        stop = stop or threading.Event()
        outbox = _Outbox(connection)
        send = outbox.put
        info = self.engine.info
        send(
            protocol.Hello(
                node_id=self.node_id,
                engine=info.engine,
                model=info.model,
                context_size=info.context_size,
                capacity=self.capacity,
            )
        )
        session_over = threading.Event()
        if self.metrics is not None:
            threading.Thread(
                target=self._report_metrics, args=(send, session_over), daemon=True
            ).start()
        try:
            while not stop.is_set():
                try:
                    frame = connection.recv(timeout=1.0)
                except TimeoutError:
                    continue
                self._handle(frame, send)
        finally:
            session_over.set()
            outbox.close()
            with self._lock:
                for generation in self._jobs.values():
                    generation.cancel.set()  # nobody is listening for these any more

    def _handle(self, frame: str | bytes, send: Callable[[protocol.Message], None]) -> None:
        try:
            message = protocol.decode(frame)
        except protocol.ProtocolError as exc:
            log.warning("ignoring a bad frame from the server: %s", exc)
            return
        if isinstance(message, protocol.Ping):
            send(protocol.Pong(nonce=message.nonce))
        elif isinstance(message, protocol.Cancel):
            with self._lock:
                generation = self._jobs.get(message.job_id)
            if generation is not None:
                generation.cancel.set()
        elif isinstance(message, protocol.Job):
            self._start(message, send)

    def _start(self, job: protocol.Job, send: Callable[[protocol.Message], None]) -> None:
        generation = Generation(
            messages=job.messages,
            max_tokens=job.max_tokens,
            temperature=job.temperature,
            stop=job.stop,
        )
        with self._lock:
            if len(self._jobs) >= self.capacity:
                send(
                    protocol.Error(
                        code="busy", message="node at capacity", job_id=job.job_id, retryable=True
                    )
                )
                return
            self._jobs[job.job_id] = generation
        threading.Thread(target=self._run, args=(job.job_id, generation, send), daemon=True).start()

    def _run(self, job_id: str, generation: Generation, send) -> None:
        started = time.perf_counter()
        first_token_at = None
        seq = 0
        try:
            fitted = fit(
                generation.messages,
                generation.max_tokens,
                self.engine.info.context_size,
                token_counter(self.engine),
            )
            generation.messages, generation.max_tokens = fitted.messages, fitted.max_tokens
            generation.dropped = fitted.dropped
            if fitted.dropped:
                log.info("job %s: %d oldest turns left out to fit", job_id, fitted.dropped)
            for text in strip_thinking(self.engine.stream(generation)):
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                send(protocol.Delta(job_id=job_id, seq=seq, text=text))
                seq += 1
            finished = time.perf_counter()
            prompt_ms = ((first_token_at or finished) - started) * 1000
            self.last_first_token_ms = prompt_ms
            send(
                protocol.Done(
                    job_id=job_id,
                    tokens=generation.tokens,
                    prompt_ms=round(prompt_ms, 2),
                    generation_ms=round((finished - (first_token_at or finished)) * 1000, 2),
                    finish_reason=generation.finish_reason,
                    dropped=generation.dropped,
                )
            )
        except EngineError as exc:
            log.error("job %s failed: %s", job_id, exc)
            _send_quietly(
                send,
                protocol.Error(
                    code="engine_failed", message=str(exc), job_id=job_id, retryable=exc.retryable
                ),
            )
        except Exception as exc:  # the link went away mid-job: the VDS retries it on its side
            log.warning("job %s stopped: %s", job_id, exc)
        finally:
            with self._lock:
                self._jobs.pop(job_id, None)

    def _report_metrics(self, send, session_over: threading.Event) -> None:
        while not session_over.wait(self.metrics_every):
            values = dict(self.metrics())
            values["ai_first_token_ms"] = self.last_first_token_ms
            values["jobs_running"] = len(self._jobs)
            if not _send_quietly(send, protocol.Metrics(at=time.time(), values=values)):
                return


def _send_quietly(send, message: protocol.Message) -> bool:
    try:
        send(message)
        return True
    except Exception:
        return False


class _Outbox:
    """Everything the node sends goes out through one writer thread, in order.

    Whatever piled up while the writer was busy goes out together, the deltas of every running
    job in one `deltas` frame (natural batching: an idle link sends each delta at once, a busy
    one sends fewer, fuller frames instead of falling behind)."""

    MAX_BATCH = 256

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._queue: queue.SimpleQueue[protocol.Message | None] = queue.SimpleQueue()
        self._broken: Exception | None = None
        self._writer = threading.Thread(target=self._write, name="node-link-writer", daemon=True)
        self._writer.start()

    def put(self, message: protocol.Message) -> None:
        if self._broken is not None:  # a job notices at its next token that the link is gone
            raise ConnectionError(f"link closed: {self._broken}")
        self._queue.put(message)

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=5)

    def _write(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                for message in _coalesce(batch):
                    if message is None:
                        return
                    self._connection.send(protocol.encode(message))
            except Exception as exc:  # the link broke: the session's reader ends it
                self._broken = exc
                log.warning("link write failed: %s", exc)
                return


def _coalesce(batch: list[protocol.Message | None]) -> list[protocol.Message | None]:
    """The batch with its deltas joined into one `deltas` message where the first one stood.
    Moving a delta earlier never puts it after its own job's done or error (those follow it)."""
    deltas = [message for message in batch if isinstance(message, protocol.Delta)]
    if len(deltas) < 2:
        return batch
    joined = protocol.Deltas.pack(deltas)
    first = batch.index(deltas[0])
    rest = [message for message in batch if not isinstance(message, protocol.Delta)]
    return [*rest[:first], joined, *rest[first:]]
