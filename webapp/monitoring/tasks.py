"""Monitoring's background work: sending alert notices, escalation, retention of logs."""

from __future__ import annotations

import logging

from flask import current_app
from huey import crontab

from webapp.db import utcnow
from webapp.extensions import get_pii, get_settings
from webapp.monitoring.alerts import escalate_due
from webapp.monitoring.delivery import deliver_due, notifier_for
from webapp.monitoring.logs import purge_expired
from webapp.monitoring.samples import purge_history
from webapp.tasks import periodic_task, service_scope, task

log = logging.getLogger(__name__)


@task()
def deliver_alerts() -> dict[str, int]:
    """Send every alert notice that is due; failures stay queued with backoff (never dropped)."""
    with service_scope() as (session, _bus):
        return deliver_due(session, get_settings(), get_pii())


@periodic_task(crontab(minute="*"))
def watch_alerts() -> dict[str, int]:
    """Every minute: escalate unacknowledged high alerts, retry failed notices."""
    with service_scope() as (session, _bus):
        notifier = notifier_for(current_app._get_current_object(), session)
        escalated = escalate_due(session, notifier, utcnow())
    sent = deliver_alerts.call_local()
    return {"escalated": len(escalated), **sent}


@periodic_task(crontab(hour="3", minute="17"))
def purge_logs() -> dict[str, int]:
    """Daily: delete log entries past their retention (security 90, business 30, system 7 days)."""
    with service_scope() as (session, _bus):
        removed = purge_expired(session)
        removed["metric_points"] = purge_history(session, utcnow())
    log.info("purged log entries: %s", removed)
    return removed
