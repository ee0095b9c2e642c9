"""Turning samples into alerts: thresholds with hysteresis, and the words each notice carries."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.i18n import MOSCOW
from webapp.monitoring import alerts, samples
from webapp.monitoring.catalogue import METRICS, SOURCE_LABELS, SOURCES
from webapp.monitoring.models import Alert, AlertState, Severity
from webapp.monitoring.thresholds import Level, current_levels, level_of

SEVERITY_OF = {Level.WARNING: Severity.LOW, Level.CRITICAL: Severity.HIGH}
LEVEL_OF = {
    Severity.LOW: Level.WARNING,
    Severity.MEDIUM: Level.WARNING,
    Severity.HIGH: Level.CRITICAL,
}


def threshold_key(metric: str) -> str:
    return f"threshold:{metric}"


def evaluate(session: Session, bus: Bus, notifier: alerts.Notifier, now: datetime) -> list[Alert]:
    """Compare each metric's newest fresh sample with its levels; fire, change or resolve."""
    changed = []
    newest = {source: samples.latest(bus, source) for source in SOURCES}
    for metric_key, levels in current_levels(session).items():
        metric = METRICS[metric_key]
        sample = newest[metric.source]
        if samples.is_stale(sample, metric.source, now.timestamp()):
            continue  # no data is not "fine": the stale widget and the AI status say so
        value = sample["values"].get(metric.name)
        if value is None:
            continue
        key = threshold_key(metric_key)
        alert = alerts.latest(session, key)
        firing = alert is not None and alert.state == AlertState.FIRING
        previous = LEVEL_OF[alert.severity] if firing else Level.OK
        level = level_of(value, levels, previous)
        if level == Level.OK:
            if firing:
                changed.append(alerts.resolve_alert(session, notifier, key, now))
            continue
        if level == previous and firing:
            alert.value = value
            continue
        line = levels.critical if level == Level.CRITICAL else levels.warning
        title = _(
            "%(source)s: %(metric)s %(value)s %(unit)s (порог %(line)s)",
            source=SOURCE_LABELS[metric.source],
            metric=metric.label,
            value=f"{value:g}",
            unit=metric.unit_label,
            line=f"{line:g}",
        )
        changed.append(
            alerts.raise_alert(
                session,
                notifier,
                key=key,
                severity=SEVERITY_OF[level],
                title=title,
                now=now,
                value=value,
                threshold_value=line,
            )
        )
    return changed


def compose(base_url: str):
    """The notice text builder for alerts.Notifier; needs an app context for translations."""

    def text(alert: Alert, reason: str, token: str | None, channel: str) -> str:
        heading = {
            "fired": _("Тревога"),
            "escalated": _("Не подтверждено, повторно"),
            "resolved": _("Решено"),
        }[reason]
        severity = {
            Severity.LOW: _("низкая"),
            Severity.MEDIUM: _("средняя"),
            Severity.HIGH: _("высокая"),
        }[alert.severity]
        started = alert.started_at.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")
        lines = [
            f"[mehhost] {heading}: {alert.title}",
            _("Важность: %(s)s. Началось: %(t)s МСК.", s=severity, t=started),
        ]
        if alert.detail and channel != "sms":
            lines.append(alert.detail)
        if token:
            lines.append(_("Подтвердить: %(url)s", url=f"{base_url}/alerts/ack/{token}"))
        return "\n".join(lines)

    return text
