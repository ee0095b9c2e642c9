"""Analysis results as alerts: anomalies of medium and high severity go to the alert channels,
and a forecast that crosses a critical level 15-60 minutes ahead warns before it happens.

Run by the monitoring collector (the process holding the collector claim): anomalies every
minute over the rings, predictions every ten minutes over the stored history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.analysis import anomaly, forecast, traffic
from webapp.analysis.livetraffic import TrafficWatch
from webapp.analysis.model import Models
from webapp.analysis.service import metric_series, recent_anomalies
from webapp.analysis.validation import current_choices
from webapp.bus import Bus
from webapp.monitoring import alerts, samples
from webapp.monitoring.catalogue import INTERVAL_S, METRICS, SOURCE_LABELS
from webapp.monitoring.models import Alert, AlertState, Severity
from webapp.monitoring.thresholds import current_levels

ALERTING = {"medium": Severity.MEDIUM, "high": Severity.HIGH}
PREDICT_FROM, PREDICT_UNTIL = timedelta(minutes=15), timedelta(minutes=60)
RECENT_STEPS = 3  # an anomaly window is current while it ended this many samples ago or less


def anomaly_key(source: str, name: str) -> str:
    return f"anomaly:{source}:{name}"


def forecast_key(metric_key: str) -> str:
    return f"forecast:{metric_key}"


def _label(source: str, name: str) -> str:
    metric = METRICS.get(f"{source}.{name}")
    return f"{SOURCE_LABELS[source]} · {metric.label if metric else name}"


def _firing(session: Session, prefix: str) -> dict[str, Alert]:
    rows = session.scalars(
        select(Alert).where(Alert.key.startswith(prefix), Alert.state == AlertState.FIRING)
    )
    return {alert.key: alert for alert in rows}


def evaluate_anomalies(
    session: Session, bus: Bus, notifier, models: Models | None, now: datetime
) -> tuple[list[Alert], dict[str, anomaly.HourAnalysis]]:
    """Alert on current medium/high anomalies of each source's last hour; resolve the rest."""
    changed: list[Alert] = []
    current: set[str] = set()
    results = recent_anomalies(bus, models, now.timestamp())
    for source, result in results.items():
        recent_enough = now.timestamp() - RECENT_STEPS * INTERVAL_S[source]
        for window in result.windows:
            if window.severity not in ALERTING or window.end < recent_enough:
                continue
            for name in window.metrics:
                key = anomaly_key(source, name)
                current.add(key)
                title = _(
                    "Аномалия: %(what)s (отклонение %(z)s σ)",
                    what=_label(source, name),
                    z=f"{window.score:.1f}",
                )
                changed.append(
                    alerts.raise_alert(
                        session,
                        notifier,
                        key=key,
                        severity=ALERTING[window.severity],
                        title=title,
                        now=now,
                        detail=_("Метрики окна: %(m)s", m=", ".join(window.metrics)),
                        value=window.score,
                    )
                )
    for key in set(_firing(session, "anomaly:")) - current:
        resolved = alerts.resolve_alert(session, notifier, key, now)
        if resolved is not None:
            changed.append(resolved)
    return changed, results


def predict_crossings(
    session: Session, bus: Bus, notifier, models: Models | None, now: datetime
) -> list[Alert]:
    """Warn when a metric's forecast reaches its critical level 15-60 minutes from now while
    it is still below it; withdraw the warning when the forecast no longer says so."""
    changed: list[Alert] = []
    predicted: set[str] = set()
    choices = current_choices(session)
    for metric_key, levels in current_levels(session).items():
        series = metric_series(session, metric_key, now, days=8)
        if len(series) < 12:
            continue
        newest = samples.latest(bus, METRICS[metric_key].source)
        value_now = (newest or {}).get("values", {}).get(METRICS[metric_key].name)
        if value_now is not None and value_now >= levels.critical:
            continue  # already across: the threshold alert speaks for it
        # The seasonal model reverts to the usual level of the hour; a ramp it has never seen is
        # Holt-Winters' to follow. Either one seeing the crossing is reason enough to warn.
        crossing, result = None, None
        chosen = choices.get(metric_key, forecast.MODEL)  # a baseline where the model lost
        for method in dict.fromkeys((chosen, "holt_winters")):
            result = forecast.forecast(series, models, method, hours=1.5)
            crossing = result.first_crossing(levels.critical)
            if crossing is not None:
                break
        if crossing is None:
            continue
        ahead = timedelta(seconds=crossing - now.timestamp())
        if not PREDICT_FROM <= ahead <= PREDICT_UNTIL:
            continue
        key = forecast_key(metric_key)
        predicted.add(key)
        metric = METRICS[metric_key]
        title = _(
            "Прогноз: %(what)s достигнет %(line)s %(unit)s примерно через %(m)s мин",
            what=_label(metric.source, metric.name),
            line=f"{levels.critical:g}",
            unit=metric.unit_label,
            m=int(ahead.total_seconds() // 60),
        )
        changed.append(
            alerts.raise_alert(
                session,
                notifier,
                key=key,
                severity=Severity.MEDIUM,
                title=title,
                now=now,
                detail=_("Метод прогноза: %(m)s", m=result.method),
                threshold_value=levels.critical,
            )
        )
    for key in set(_firing(session, "forecast:")) - predicted:
        resolved = alerts.resolve_alert(session, notifier, key, now)
        if resolved is not None:
            changed.append(resolved)
    return changed


TRAFFIC_KEY = "traffic:attack"
TRAFFIC_STATE_KEY = "analysis:traffic"


def evaluate_traffic(
    session: Session, bus: Bus, notifier, watch: TrafficWatch, models: Models | None, now: datetime
) -> list[Alert]:
    """Classify the access-log windows closed since the last round; alert while the newest one
    looks like an attack (calibrated probability >= 0.9), resolve when it no longer does."""
    moment = now.timestamp()
    watch.step(moment, models)
    current = watch.current(moment)
    bus.set(
        TRAFFIC_STATE_KEY,
        {
            "at": moment,
            "files": [str(path) for path in watch.paths],
            "skipped": watch.skipped,
            "late": watch.late,
            "dropped_bytes": watch.dropped_bytes,
            "classifier": models is not None and models.traffic is not None,
            "windows": [verdict.as_dict() for verdict in watch.verdicts],
        },
        ttl=3600,
    )
    if current is not None and current.attack >= traffic.ALERT_AT:
        title = _(
            "Похоже на атаку: %(kind)s (вероятность %(p)s%%)",
            kind=current.label,
            p=f"{current.attack * 100:.0f}",
        )
        detail = _(
            "Запросов за минуту: %(n)s; уникальных IP: %(ips)s",
            n=current.requests,
            ips=current.unique_ips,
        )
        alert = alerts.raise_alert(
            session,
            notifier,
            key=TRAFFIC_KEY,
            severity=Severity.HIGH,
            title=title,
            now=now,
            detail=detail,
            value=current.attack,
            threshold_value=traffic.ALERT_AT,
        )
        return [alert]
    resolved = alerts.resolve_alert(session, notifier, TRAFFIC_KEY, now)
    return [resolved] if resolved is not None else []
