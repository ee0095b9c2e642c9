"""The daily report: yesterday's resources per metric and the alerts, as plain text by email."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.admin.config import load_section
from webapp.monitoring.catalogue import METRICS, SOURCE_LABELS
from webapp.monitoring.models import Alert, MetricPoint
from webapp.monitoring.samples import MINUTE
from webapp.monitoring.watch import MOSCOW
from webapp.pii import PiiCipher


def daily_text(session: Session, now: datetime) -> str:
    since = now - timedelta(days=1)
    rows = session.execute(
        select(
            MetricPoint.source,
            MetricPoint.metric,
            func.avg(MetricPoint.mean),
            func.max(MetricPoint.peak),
        )
        .where(MetricPoint.step == MINUTE, MetricPoint.bucket >= since)
        .group_by(MetricPoint.source, MetricPoint.metric)
    ).all()
    lines = [
        _(
            "Отчёт mehhost chat за сутки до %(t)s МСК",
            t=now.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M"),
        ),
        "",
        _("Ресурсы (среднее / пик):"),
    ]
    found = {(source, metric): (mean, peak) for source, metric, mean, peak in rows}
    for metric in METRICS.values():
        if (metric.source, metric.name) in found:
            mean, peak = found[(metric.source, metric.name)]
            lines.append(
                f"  {SOURCE_LABELS[metric.source]} · {metric.label}: "
                f"{mean:.1f} / {peak:.1f} {metric.unit}"
            )
    if not found:
        lines.append("  " + _("нет данных за сутки"))
    alerts = session.scalars(
        select(Alert).where(Alert.started_at >= since).order_by(Alert.started_at)
    ).all()
    lines += ["", _("Тревоги за сутки: %(n)s", n=len(alerts))]
    for alert in alerts:
        started = alert.started_at.astimezone(MOSCOW).strftime("%H:%M")
        lines.append(f"  {started} [{alert.severity}] {alert.title} — {alert.state}")
    return "\n".join(lines)


def daily_report(
    session: Session, settings: Settings, cipher: PiiCipher, now: datetime
) -> tuple[tuple[str, ...], str, str]:
    """(recipients, subject, text) of the daily report; the worker queues one email each."""
    config = load_section(session, "channels", settings, cipher)
    return config.emails, str(_("mehhost: отчёт за сутки")), daily_text(session, now)
