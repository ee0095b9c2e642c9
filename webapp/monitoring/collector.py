"""The collector: a thread in each web process. Every process reports its open sockets; the one
holding the bus claim also samples the VDS, rolls samples up into history, evaluates thresholds,
runs the rounds other domains registered (analysis) and hands new notices to the worker."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime

from flask import Flask

from webapp.bus import Bus, BusUnavailable
from webapp.extensions import db
from webapp.monitoring import evaluation, presence, samples
from webapp.monitoring.catalogue import INTERVAL_S, VDS
from webapp.monitoring.delivery import notifier_for
from webapp.monitoring.tasks import deliver_alerts

log = logging.getLogger(__name__)
LEADER_KEY = "monitoring:collector"
# What other domains run in each round, registered by the app factory (monitoring measures and
# never imports what reads its measurements): a round is (session, bus, notifier, now, moment)
# -> alerts it changed; a hook gets (bus, episodes) after the round's commit.
ROUNDS = "mehhost.monitoring_rounds"
AFTER_CHANGE = "mehhost.monitoring_after_change"


def add_round(app: Flask, round_, after_change=None) -> None:
    app.extensions.setdefault(ROUNDS, []).append(round_)
    if after_change is not None:
        app.extensions.setdefault(AFTER_CHANGE, []).append(after_change)


class Collector:
    def __init__(self, app: Flask, clock=time.time) -> None:
        self.app = app
        self.bus: Bus = app.extensions["mehhost.bus"]
        self.clock = clock
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        settings = app.extensions["mehhost.settings"]
        self.sampler = samples.VdsSampler(settings.instance_path, clock)
        self.rounds = list(app.extensions.get(ROUNDS, ()))
        self.after_change = list(app.extensions.get(AFTER_CHANGE, ()))
        self._last_rollup = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        now = self.clock()
        presence.report(self.bus, now, self.owner)
        if not self.bus.claim(LEADER_KEY, self.owner, ttl=3 * INTERVAL_S[VDS]):
            return
        samples.ingest(self.bus, VDS, now, self.sampler.sample())
        moment = datetime.fromtimestamp(now, UTC)
        with self.app.app_context():
            session = db.new_session()
            try:
                if now - self._last_rollup >= samples.MINUTE:
                    samples.roll_up(session, self.bus, moment)
                    self._last_rollup = now
                notifier = notifier_for(self.app, session)
                changed = evaluation.evaluate(session, self.bus, notifier, moment)
                for round_ in self.rounds:
                    changed += round_(session, self.bus, notifier, now, moment)
                session.commit()
                episodes = {(a.id, a.severity, a.state, a.started_at) for a in changed}
            finally:
                session.close()
            if changed:
                deliver_alerts()  # the worker sends what is due (at once in tests)
                for hook in self.after_change:
                    hook(self.bus, episodes)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except BusUnavailable:
                log.warning("monitoring: bus unavailable, skipping a round")
            except Exception:
                log.exception("monitoring round failed")
            self._stop.wait(INTERVAL_S[VDS])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="monitoring", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


_lock = threading.Lock()


def ensure_collector(app: Flask) -> None:
    """Start this process's collector on its first request (workers and CLI never start one)."""
    if "mehhost.collector" in app.extensions:
        return
    with _lock:
        if "mehhost.collector" not in app.extensions:
            collector = Collector(app)
            app.extensions["mehhost.collector"] = collector
            collector.start()
