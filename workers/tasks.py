"""Huey tasks. Run the consumer with: huey_consumer workers.tasks.huey

Tasks are thin: they open a DB session, call a webapp service and commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from huey import crontab
from sqlalchemy.orm import Session

from webapp.notify.email import build_message, send_message
from workers.huey_app import huey

log = logging.getLogger(__name__)
_app = None


def use_app(app) -> None:
    """Tests hand over their app; the consumer builds one lazily on its first task."""
    global _app
    _app = app


@contextmanager
def service_scope() -> Iterator[tuple[Session, object]]:
    """(DB session, bus) inside the app context; commits on success, rolls back on error."""
    global _app
    if _app is None:
        from webapp import create_app

        _app = create_app()
    from webapp.extensions import db, get_bus
    from webapp.siteconfig import refresh

    refresh(_app)  # an admin may have changed SMTP or security settings meanwhile
    with _app.app_context():
        session = db.session
        try:
            yield session, get_bus()
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            db.session.remove()


def current_settings():
    """The effective Settings (environment + what an admin saved); call inside service_scope."""
    from webapp.extensions import get_settings

    return get_settings()


def daily_at(hour: int, minute: int, zone: str = "Europe/Moscow") -> Callable[[datetime], bool]:
    """A Huey schedule: once a day at hour:minute local time in `zone` (Huey passes UTC)."""
    tz = ZoneInfo(zone)

    def due(moment: datetime) -> bool:
        local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
        return local.hour == hour and local.minute == minute

    return due


@huey.task(retries=5, retry_delay=30)
def send_email(
    to: str, subject: str, text: str, html: str = "", attachments: tuple[str, ...] = ()
) -> None:
    """Deliver one email (files attached by path); an SMTP failure is retried five times, 30 s
    apart."""
    with service_scope():
        settings = current_settings()
    send_message(settings, build_message(settings, to, subject, text, html, attachments))


@huey.task()
def deliver_alerts() -> dict[str, int]:
    """Send every alert notice that is due; failures stay queued with backoff (never dropped)."""
    from webapp.monitoring.delivery import deliver_due

    with service_scope() as (session, _bus):
        return deliver_due(session, current_settings(), _app.extensions["mehhost.pii"])


@huey.periodic_task(crontab(minute="*"))
def watch_alerts() -> dict[str, int]:
    """Every minute: escalate unacknowledged high alerts, retry failed notices."""
    from webapp.db import utcnow
    from webapp.monitoring.alerts import escalate_due
    from webapp.monitoring.collector import notifier_for

    with service_scope() as (session, _bus):
        escalated = escalate_due(session, notifier_for(_app, session), utcnow())
    sent = deliver_alerts.call_local()
    return {"escalated": len(escalated), **sent}


def _send_report(make) -> str:
    """Build a report (make(session, now) -> ReportData), write its HTML and PDF, and email
    both to the developers' list; return the report's name."""
    from webapp.analysis import reports
    from webapp.db import utcnow

    with service_scope() as (session, _bus):
        settings = current_settings()
        data = make(session, utcnow())
        files = reports.write(data, reports.folder_of(settings.instance_path))
        recipients = reports.recipients(session, settings, _app.extensions["mehhost.pii"])
        subject, text = f"mehhost: {data.title}", reports.summary_text(data)
    for email in recipients:
        send_email(email, subject, text, attachments=tuple(str(f) for f in reversed(files)))
    return data.name


@huey.periodic_task(daily_at(2, 0))
def daily_report() -> str:
    """02:00 Moscow time: yesterday's resources, alerts and forecast checks, as HTML and PDF."""
    from webapp.analysis.reports import daily

    return _send_report(daily)


@huey.periodic_task(crontab(day_of_week="1", hour="23", minute="5"))
def weekly_report() -> str:
    """Sunday 23:05 UTC = Monday 02:05 Moscow: the week just ended, as HTML and PDF."""
    from webapp.analysis.reports import weekly

    return _send_report(weekly)


@huey.task(retries=2, retry_delay=60)
def incident_report(alert_id: int) -> str | None:
    """The report of one alert, made when it fires and again when it resolves."""
    from webapp.analysis.reports import incident
    from webapp.monitoring.models import Alert

    def make(session, now):
        return incident(session, session.get(Alert, alert_id), now)

    return _send_report(make)


@huey.periodic_task(daily_at(0, 20))
def validate_forecasts() -> dict[str, str]:
    """00:20 Moscow time: backtest yesterday per metric, keep the scores, and switch to the best
    baseline wherever the model lost (webapp.analysis.validation)."""
    from datetime import timedelta

    from webapp.analysis.service import models_of
    from webapp.analysis.validation import validate_day
    from webapp.db import utcnow
    from webapp.i18n import MOSCOW

    yesterday = utcnow().astimezone(MOSCOW).date() - timedelta(days=1)
    with service_scope() as (session, _bus):
        return validate_day(session, yesterday, models_of(_app))


def _maintenance_step(work):
    """Run work(session, bus, cipher, settings) -> (result, emails) in a request context (the
    emails carry links), drop the cached notice pages show, and send the emails only after the
    commit that records them as sent."""
    from webapp.maintenance import lifecycle, notice

    with service_scope() as (session, bus):
        settings = current_settings()
        with _app.test_request_context(base_url=settings.base_url):
            result, emails = work(session, bus, _app.extensions["mehhost.pii"], settings)
        notice.forget(bus)
    lifecycle.deliver(emails)
    return result


@huey.periodic_task(crontab(minute="*"))
def maintenance_tick() -> dict[str, int]:
    """Every minute: maintenance notices that are due, stops whose time has come, recoveries."""
    from webapp.db import utcnow
    from webapp.maintenance import lifecycle

    return _maintenance_step(
        lambda session, bus, cipher, settings: lifecycle.tick(
            session, bus, cipher, settings, utcnow()
        )
    )


@huey.task()
def recover_window(window_id: int) -> bool:
    """An admin's "start the service": the recovery steps now, progress on the bus."""
    from webapp.db import utcnow
    from webapp.maintenance import recovery
    from webapp.maintenance.models import MaintenanceWindow

    return _maintenance_step(
        lambda session, bus, cipher, settings: recovery.run(
            session, bus, cipher, settings, session.get(MaintenanceWindow, window_id), utcnow()
        )
    )


@huey.periodic_task(daily_at(3, 40))
def nightly_backup() -> dict:
    """03:40 Moscow time: dump the database into instance/backups, keep the newest 14."""
    from webapp.extensions import db
    from webapp.maintenance import backups

    with service_scope():
        folder = backups.folder_of(current_settings().instance_path)
        made = backups.create(db.engine, folder)
        removed = backups.rotate(folder)
    return {"file": made.name, "bytes": made.size, "removed": removed}


@huey.periodic_task(crontab(minute="7"))
def end_inactive_sessions() -> int:
    """Hourly: end device sessions not seen for SESSION_INACTIVE_DAYS; forget old wrong-password
    counters."""
    from webapp.auth import throttle
    from webapp.auth.sessions import end_inactive_sessions as end_inactive
    from webapp.db import utcnow

    with service_scope() as (session, bus):
        ended = end_inactive(session, bus, current_settings(), utcnow())
        forgotten = throttle.purge(session, utcnow())
    log.info("ended %d inactive sessions, forgot %d login counters", ended, forgotten)
    return ended


@huey.periodic_task(crontab(hour="3", minute="17"))
def purge_logs() -> dict[str, int]:
    """Daily: delete log entries past their retention (security 90, business 30, system 7 days)."""
    from webapp.db import utcnow
    from webapp.monitoring.logs import purge_expired
    from webapp.monitoring.samples import purge_history

    with service_scope() as (session, _bus):
        removed = purge_expired(session)
        removed["metric_points"] = purge_history(session, utcnow())
    log.info("purged log entries: %s", removed)
    return removed
