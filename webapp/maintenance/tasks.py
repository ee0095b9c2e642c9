"""Maintenance's background work: the minute tick, an admin's recovery, the nightly backup."""

from __future__ import annotations

from flask import current_app
from huey import crontab

from webapp.db import utcnow
from webapp.extensions import db, get_pii, get_settings
from webapp.maintenance import backups, lifecycle, notice, recovery
from webapp.maintenance.models import MaintenanceWindow
from webapp.tasks import daily_at, periodic_task, service_scope, task


def _step(work):
    """Run work(session, bus, cipher, settings) in a request context (its emails carry links)
    and drop the cached notice pages show; the emails leave after the commit."""
    with service_scope() as (session, bus):
        settings = get_settings()
        with current_app.test_request_context(base_url=settings.base_url):
            result = work(session, bus, get_pii(), settings)
        notice.forget(bus)
    return result


@periodic_task(crontab(minute="*"))
def maintenance_tick() -> dict[str, int]:
    """Every minute: maintenance notices that are due, stops whose time has come, recoveries."""
    return _step(
        lambda session, bus, cipher, settings: lifecycle.tick(
            session, bus, cipher, settings, utcnow()
        )
    )


@task()
def recover_window(window_id: int) -> bool:
    """An admin's "start the service": the recovery steps now, progress on the bus."""
    back, _told = _step(
        lambda session, bus, cipher, settings: recovery.run(
            session, bus, cipher, settings, session.get(MaintenanceWindow, window_id), utcnow()
        )
    )
    return back


@periodic_task(daily_at(3, 40))
def nightly_backup() -> dict:
    """03:40 Moscow time: dump the database into instance/backups, keep the newest 14."""
    with service_scope():
        folder = backups.folder_of(get_settings().instance_path)
        made = backups.create(db.engine, folder)
        removed = backups.rotate(folder)
    return {"file": made.name, "bytes": made.size, "removed": removed}
