"""Auth's background work: ending sessions nobody uses."""

from __future__ import annotations

import logging

from huey import crontab

from webapp.auth import throttle
from webapp.auth.sessions import end_inactive_sessions as end_inactive
from webapp.db import utcnow
from webapp.extensions import get_settings
from webapp.tasks import periodic_task, service_scope

log = logging.getLogger(__name__)


@periodic_task(crontab(minute="7"))
def end_inactive_sessions() -> int:
    """Hourly: end device sessions not seen for SESSION_INACTIVE_DAYS; forget old wrong-password
    counters."""
    with service_scope() as (session, bus):
        ended = end_inactive(session, bus, get_settings(), utcnow())
        forgotten = throttle.purge(session, utcnow())
    log.info("ended %d inactive sessions, forgot %d login counters", ended, forgotten)
    return ended
