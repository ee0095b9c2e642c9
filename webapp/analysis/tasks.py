"""Analysis's background work: the daily, weekly and incident reports, the forecast check."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from webapp.analysis import reports
from webapp.analysis.service import models_of
from webapp.analysis.validation import validate_day
from webapp.db import utcnow
from webapp.extensions import get_pii, get_settings
from webapp.i18n import MOSCOW
from webapp.monitoring.models import Alert
from webapp.notify.tasks import send_email
from webapp.tasks import after_commit, daily_at, periodic_task, service_scope, task


def _send_report(make) -> str:
    """Build a report (make(session, now) -> ReportData), write its HTML and PDF, and email
    both to the developers' list once committed; return the report's name."""
    with service_scope() as (session, _bus):
        settings = get_settings()
        data = make(session, utcnow())
        files = reports.write(data, reports.folder_of(settings.instance_path))
        subject, text = f"mehhost: {data.title}", reports.summary_text(data)
        attached = tuple(str(f) for f in reversed(files))
        for email in reports.recipients(session, settings, get_pii()):
            after_commit(session, send_email, email, subject, text, attachments=attached)
    return data.name


@periodic_task(daily_at(2, 0))
def daily_report() -> str:
    """02:00 Moscow time: yesterday's resources, alerts and forecast checks, as HTML and PDF."""
    return _send_report(reports.daily)


@periodic_task(daily_at(2, 5, weekday=0))
def weekly_report() -> str:
    """Monday 02:05 Moscow time: the week just ended, as HTML and PDF. (Huey's crontab counts
    days from Sunday and in UTC: day_of_week="1" at 23:05 was Tuesday 02:05 in Moscow.)"""
    return _send_report(reports.weekly)


@task(retries=2, retry_delay=60)
def incident_report(alert_id: int) -> str | None:
    """The report of one alert, made when it fires and again when it resolves."""
    return _send_report(
        lambda session, now: reports.incident(session, session.get(Alert, alert_id), now)
    )


@periodic_task(daily_at(0, 20))
def validate_forecasts() -> dict[str, str]:
    """00:20 Moscow time: backtest yesterday per metric, keep the scores, and switch to the best
    baseline wherever the model lost (webapp.analysis.validation)."""
    yesterday = utcnow().astimezone(MOSCOW).date() - timedelta(days=1)
    with service_scope() as (session, _bus):
        return validate_day(session, yesterday, models_of(current_app._get_current_object()))
