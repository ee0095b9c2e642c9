"""What analysis does in each monitoring round (registered with the collector by the app
factory): economy mode, anomalies over the rings and the access logs, predicted crossings; and
the incident reports of alerts that just fired or resolved."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Flask

from webapp.analysis import alerting as analysis_alerting
from webapp.analysis.livetraffic import TrafficWatch
from webapp.analysis.reports import REPORTED_SEVERITIES
from webapp.analysis.service import models_of
from webapp.analysis.tasks import incident_report
from webapp.bus import Bus
from webapp.inference import economy
from webapp.monitoring.models import AlertState

ANALYSIS_EVERY_S = 60
PREDICTION_EVERY_S = 600


class AnalysisRound:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.traffic = TrafficWatch(app.extensions["mehhost.settings"].access_logs)
        self._last_analysis = 0.0
        self._last_prediction = 0.0

    def __call__(self, session, bus: Bus, notifier, now: float, moment: datetime) -> list:
        """Anomalies over the rings and the access logs every minute, predicted crossings every
        ten minutes."""
        economy.update(bus, now)
        changed: list = []
        if now - self._last_analysis < ANALYSIS_EVERY_S:
            return changed
        self._last_analysis = now
        models = models_of(self.app)
        changed += analysis_alerting.evaluate_anomalies(session, bus, notifier, models, moment)[0]
        changed += analysis_alerting.evaluate_traffic(
            session, bus, notifier, self.traffic, models, moment
        )
        if now - self._last_prediction >= PREDICTION_EVERY_S:
            self._last_prediction = now
            changed += analysis_alerting.predict_crossings(session, bus, notifier, models, moment)
        return changed


INCIDENT_CLAIM_TTL_S = 30 * 86_400


def queue_incident_reports(bus: Bus, episodes) -> int:
    """An incident report for each medium or high alert (id, severity, state, start) that has
    just fired or resolved. A claim under a fresh token succeeds only while nobody holds the key:
    one report per alert and phase, however many rounds (or processes) see it."""
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
