"""Daily, weekly and incident reports: one HTML page (inline SVG charts, no outside files) and
the same page as PDF (weasyprint, DejaVu fonts for Cyrillic), kept in instance/reports and
emailed to the developers' list (the alert e-mail recipients).

An incident report is made when a medium or high alert fires and again when it resolves: the
alert's story (fired, acknowledged, resolved), the metrics around it with the alert's time
shaded, and the other alerts of the same hours.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.analysis import validation
from webapp.i18n import MOSCOW
from webapp.monitoring.catalogue import METRICS, SOURCE_LABELS
from webapp.monitoring.models import Alert, AlertState, MetricPoint, Severity
from webapp.monitoring.samples import TEN_MINUTES
from webapp.notify.config import load_channels
from webapp.pii import PiiCipher

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per layout step

CHART_W, CHART_H = 560, 90
INCIDENT_MARGIN = timedelta(hours=2)
REPORTED_SEVERITIES = (Severity.MEDIUM, Severity.HIGH)
NAME = re.compile(r"^(daily|weekly|incident)-[0-9A-Za-z-]+\.(html|pdf)$")


@dataclass(frozen=True)
class Chart:
    key: str
    label: str
    unit: str
    mean: float
    peak: float
    line: str  # SVG polyline points
    top: float  # the value at the chart's top edge
    shade: tuple[float, float] | None = None  # x from-to of the incident's time


@dataclass
class ReportData:
    kind: str
    name: str  # file name without extension
    title: str
    start: datetime
    end: datetime
    charts: list[Chart] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    by_severity: dict[str, int] = field(default_factory=dict)
    validations: list = field(default_factory=list)
    incident: Alert | None = None
    phase: str = ""  # for an incident: "fired" or "resolved"
    # With no chart: when metric history begins (None: never collected), to say why.
    history_from: datetime | None = None
    made_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _local(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")


def _charts(
    session: Session, start: datetime, end: datetime, shade=None, only: set[str] | None = None
) -> list[Chart]:
    """A chart per metric with ten-minute history in [start, end), in one query."""
    rows = session.execute(
        select(MetricPoint.source, MetricPoint.metric, MetricPoint.bucket, MetricPoint.mean)
        .where(
            MetricPoint.step == TEN_MINUTES,
            MetricPoint.bucket >= start,
            MetricPoint.bucket < end,
        )
        .order_by(MetricPoint.bucket)
    ).all()
    series: dict[str, list[tuple[float, float]]] = {}
    for source, metric, bucket, mean in rows:
        series.setdefault(f"{source}.{metric}", []).append((bucket.timestamp(), mean))
    span = (end - start).total_seconds()
    charts = []
    for key, metric in METRICS.items():
        points = series.get(key)
        if not points or (only is not None and key not in only):
            continue
        t = np.array([p[0] for p in points])
        v = np.array([p[1] for p in points])
        top = 100.0 if metric.unit == "%" else float(v.max()) * 1.1 or 1.0
        x = (t - start.timestamp()) / span * CHART_W
        y = CHART_H - np.clip(v / top, 0, 1) * CHART_H
        window = None
        if shade is not None:
            a, b = ((s - start).total_seconds() / span * CHART_W for s in shade)
            window = (round(max(a, 0), 1), round(min(b, CHART_W), 1))
        charts.append(
            Chart(
                key,
                f"{SOURCE_LABELS[metric.source]} · {metric.label}",
                metric.unit_label,
                float(v.mean()),
                float(v.max()),
                " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True)),
                top,
                window,
            )
        )
    return charts


def _alerts_between(session: Session, start: datetime, end: datetime) -> list[Alert]:
    """Alerts that were firing at any time in [start, end)."""
    return list(
        session.scalars(
            select(Alert)
            .where(
                Alert.started_at < end,
                or_(Alert.resolved_at.is_(None), Alert.resolved_at >= start),
            )
            .order_by(Alert.started_at)
        )
    )


def _period(session: Session, kind: str, name: str, title: str, start, end) -> ReportData:
    data = ReportData(kind, name, title, start, end)
    data.charts = _charts(session, start, end)
    if not data.charts:
        data.history_from = session.scalar(
            select(func.min(MetricPoint.bucket)).where(MetricPoint.step == TEN_MINUTES)
        )
    data.alerts = _alerts_between(session, start, end)
    for alert in data.alerts:
        data.by_severity[alert.severity] = data.by_severity.get(alert.severity, 0) + 1
    days = {start.astimezone(MOSCOW).date() + timedelta(days=n) for n in range((end - start).days)}
    data.validations = [
        s for s in validation.history(session, end.astimezone(MOSCOW).date()) if s.day in days
    ]
    return data


def daily(session: Session, now: datetime) -> ReportData:
    """Yesterday (Moscow calendar day)."""
    day = now.astimezone(MOSCOW).date() - timedelta(days=1)
    start, end = validation.day_bounds(day)
    title = _("Отчёт за сутки: %(d)s", d=day.strftime("%d.%m.%Y"))
    return _period(session, "daily", f"daily-{day.isoformat()}", title, start, end)


def weekly(session: Session, now: datetime) -> ReportData:
    """The last full Monday-to-Sunday week (Moscow)."""
    today = now.astimezone(MOSCOW).date()
    monday = today - timedelta(days=today.weekday() + 7)
    start = validation.day_bounds(monday)[0]
    end = validation.day_bounds(monday + timedelta(days=7))[0]
    year, week, _day = monday.isocalendar()
    title = _(
        "Отчёт за неделю %(w)s: %(a)s – %(b)s",
        w=week,
        a=monday.strftime("%d.%m"),
        b=(monday + timedelta(days=6)).strftime("%d.%m.%Y"),
    )
    return _period(session, "weekly", f"weekly-{year}-W{week:02d}", title, start, end)


def _metric_of(key: str) -> str | None:
    """The catalogue metric an alert key names ("threshold:pc.cpu_percent",
    "anomaly:pc:cpu_percent", "forecast:pc.cpu_percent"), if any."""
    tail = key.split(":", 1)[-1].replace(":", ".")
    return tail if tail in METRICS else None


def incident(session: Session, alert: Alert, now: datetime) -> ReportData:
    phase = "resolved" if alert.state == AlertState.RESOLVED else "fired"
    until = alert.resolved_at or now
    start, end = alert.started_at - INCIDENT_MARGIN, until + timedelta(minutes=30)
    words = {"fired": _("тревога сработала"), "resolved": _("тревога завершилась")}
    data = ReportData(
        "incident",
        f"incident-{alert.id}-{phase}",
        _("Инцидент №%(n)s, %(w)s: %(t)s", n=alert.id, w=words[phase], t=alert.title),
        start,
        end,
        incident=alert,
        phase=phase,
    )
    charts = _charts(session, start, end, shade=(alert.started_at, until))
    named = _metric_of(alert.key)
    data.charts = sorted(charts, key=lambda c: c.key != named)  # the alert's own metric first
    data.alerts = [a for a in _alerts_between(session, start, end) if a.id != alert.id]
    return data


def render_html(data: ReportData) -> str:
    return render_template(
        "reports/report.html",
        report=data,
        local=_local,
        chart_w=CHART_W,
        chart_h=CHART_H,
        duration=lambda a, b: _duration((b or data.made_at) - a),
    )


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return _("%(m)s мин", m=minutes)
    return _("%(h)s ч %(m)s мин", h=minutes // 60, m=minutes % 60)


def folder_of(instance_path: str | Path) -> Path:
    return Path(instance_path) / "reports"


def write(data: ReportData, folder: Path) -> tuple[Path, Path]:
    """The report as HTML and PDF files in `folder` (replacing an earlier one of that name)."""
    from weasyprint import HTML

    folder.mkdir(parents=True, exist_ok=True)
    html = render_html(data)
    html_path, pdf_path = folder / f"{data.name}.html", folder / f"{data.name}.pdf"
    temporary = folder / f".{data.name}.tmp"
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(html_path)
    HTML(string=html).write_pdf(temporary)
    temporary.replace(pdf_path)
    return html_path, pdf_path


@dataclass(frozen=True)
class StoredReport:
    name: str
    kind: str
    made_at: datetime
    size: int
    has_pdf: bool


def stored(folder: Path) -> list[StoredReport]:
    """The reports on disk, newest first."""
    found = []
    for path in folder.glob("*.html") if folder.is_dir() else ():
        if not NAME.match(path.name):
            continue
        pdf = path.with_suffix(".pdf")
        status = path.stat()
        found.append(
            StoredReport(
                path.stem,
                path.stem.split("-", 1)[0],
                datetime.fromtimestamp(status.st_mtime, UTC),
                pdf.stat().st_size if pdf.exists() else status.st_size,
                pdf.exists(),
            )
        )
    return sorted(found, key=lambda r: r.made_at, reverse=True)


def summary_text(data: ReportData) -> str:
    """The email's plain-text body: what the attached report holds, in a few lines."""
    lines = [
        str(data.title),
        _("Период: %(a)s – %(b)s МСК", a=_local(data.start), b=_local(data.end)),
    ]
    if data.incident is not None:
        lines.append(_("Тревога: %(t)s", t=data.incident.title))
        if data.incident.detail:
            lines.append(data.incident.detail)
    for chart in data.charts:
        lines.append(f"  {chart.label}: {chart.mean:.1f} / {chart.peak:.1f} {chart.unit}")
    lines.append(_("Тревог за период: %(n)s", n=len(data.alerts)))
    lines.append(_("Полный отчёт — во вложении (PDF и HTML)."))
    return "\n".join(lines)


def recipients(session: Session, settings: Settings, cipher: PiiCipher) -> tuple[str, ...]:
    """The developers' list: the e-mail recipients of the alert channels."""
    return load_channels(session, settings, cipher).emails
