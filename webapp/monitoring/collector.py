"""The collector: a thread in each web process. Every process reports its open sockets; the one
holding the bus claim also samples the VDS, rolls samples up into history, evaluates thresholds
and hands new notices to the worker."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime

from flask import Flask

from webapp.analysis import economy
from webapp.analysis import watch as analysis_watch
from webapp.analysis.livetraffic import TrafficWatch
from webapp.analysis.service import models_of
from webapp.bus import Bus, BusUnavailable
from webapp.extensions import db
from webapp.monitoring import alerts, presence, samples, watch
from webapp.monitoring.catalogue import INTERVAL_S, VDS
from webapp.monitoring.models import AlertState
from webapp.siteconfig import load_section

log = logging.getLogger(__name__)
LEADER_KEY = "monitoring:collector"
ANALYSIS_EVERY_S = 60
PREDICTION_EVERY_S = 600


def notifier_for(app: Flask, session) -> alerts.Notifier:
    settings = app.extensions["mehhost.settings"]
    pii = app.extensions["mehhost.pii"]
    return alerts.Notifier(
        lambda: load_section(session, "channels", settings, pii), watch.compose(settings.base_url)
    )


def queue_deliveries() -> None:
    """Ask the worker to send what is due (Huey; runs at once in tests)."""
    from workers.tasks import deliver_alerts

    deliver_alerts()


INCIDENT_CLAIM_TTL_S = 30 * 86_400


def queue_incident_reports(bus: Bus, episodes) -> int:
    """An incident report for each medium or high alert (id, severity, state, start) that has
    just fired or resolved. A claim under a fresh token succeeds only while nobody holds the key:
    one report per alert and phase, however many rounds (or processes) see it."""
    from webapp.analysis.reports import REPORTED_SEVERITIES
    from workers.tasks import incident_report

    queued = 0
    for alert_id, severity, state, started in sorted(episodes):
        if severity not in REPORTED_SEVERITIES:
            continue
        phase = "resolved" if state == AlertState.RESOLVED else "fired"
        key = f"report:incident:{alert_id}:{started.timestamp():.0f}:{phase}"
        if bus.claim(key, uuid.uuid4().hex, ttl=INCIDENT_CLAIM_TTL_S):
            incident_report(alert_id)
            queued += 1
    return queued


class Collector:
    def __init__(self, app: Flask, clock=time.time) -> None:
        self.app = app
        self.bus: Bus = app.extensions["mehhost.bus"]
        self.clock = clock
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        settings = app.extensions["mehhost.settings"]
        self.sampler = samples.VdsSampler(settings.instance_path, clock)
        self.traffic = TrafficWatch(settings.access_logs)
        self._last_rollup = 0.0
        self._last_analysis = 0.0
        self._last_prediction = 0.0
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
                changed = watch.evaluate(session, self.bus, notifier, moment)
                changed += self._analyse(session, notifier, now, moment)
                session.commit()
                episodes = {(a.id, a.severity, a.state, a.started_at) for a in changed}
            finally:
                session.close()
            if changed:
                queue_deliveries()
                queue_incident_reports(self.bus, episodes)

    def _analyse(self, session, notifier, now: float, moment: datetime) -> list:
        """Anomalies over the rings and the access logs every minute, predicted crossings every
        ten minutes."""
        economy.update(self.bus, now)
        changed: list = []
        if now - self._last_analysis < ANALYSIS_EVERY_S:
            return changed
        self._last_analysis = now
        models = models_of(self.app)
        changed += analysis_watch.evaluate_anomalies(session, self.bus, notifier, models, moment)[0]
        changed += analysis_watch.evaluate_traffic(
            session, self.bus, notifier, self.traffic, models, moment
        )
        if now - self._last_prediction >= PREDICTION_EVERY_S:
            self._last_prediction = now
            changed += analysis_watch.predict_crossings(session, self.bus, notifier, models, moment)
        return changed

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
