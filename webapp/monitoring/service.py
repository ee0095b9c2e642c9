from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.inference.status import read_status


def check_health(
    session: Session, bus: Bus, *, redis_configured: bool, version: str
) -> dict[str, Any]:
    """The /healthz document: overall status plus each dependency's own."""
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        session.rollback()
        database = "error"
    redis_state = "disabled"
    if redis_configured:
        redis_state = "ok" if bus.ping() else "error"
    healthy = database == "ok" and redis_state != "error"
    return {
        "status": "ok" if healthy else "error",
        "db": database,
        "redis": redis_state,
        # With Redis away the AI's status is unknown here: offline, without waiting for it twice.
        "ai": read_status(bus)["state"] if redis_state != "error" else "offline",
        "version": version,
    }
