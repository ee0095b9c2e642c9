"""Huey tasks. Run the consumer with: huey_consumer workers.tasks.huey

Tasks are thin: they open a DB session, call a webapp service and commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from huey import crontab
from sqlalchemy.orm import Session

from webapp.notify.email import build_message, send_message
from workers.huey_app import huey, settings

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


@huey.task(retries=5, retry_delay=30)
def send_email(to: str, subject: str, text: str, html: str = "") -> None:
    """Deliver one email; an SMTP failure is retried five times, 30 s apart."""
    send_message(settings, build_message(settings, to, subject, text, html))


@huey.periodic_task(crontab(minute="7"))
def end_inactive_sessions() -> int:
    """Hourly: end device sessions not seen for SESSION_INACTIVE_DAYS."""
    from webapp.auth.sessions import end_inactive_sessions as end_inactive
    from webapp.db import utcnow

    with service_scope() as (session, bus):
        ended = end_inactive(session, bus, settings, utcnow())
    log.info("ended %d inactive sessions", ended)
    return ended


@huey.periodic_task(crontab(hour="3", minute="17"))
def purge_logs() -> dict[str, int]:
    """Daily: delete log entries past their retention (security 90, business 30, system 7 days)."""
    from webapp.monitoring.logs import purge_expired

    with service_scope() as (session, _bus):
        removed = purge_expired(session)
    log.info("purged log entries: %s", removed)
    return removed
