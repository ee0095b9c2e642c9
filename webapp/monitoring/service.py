from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from webapp.bus import Bus, BusUnavailable

AI_STATUS_KEY = "ai_service_status"
AI_STATES = ("online", "overloaded", "offline")


def ai_status(bus: Bus) -> str:
    """online / overloaded / offline as the inference link last wrote it; none means offline."""
    try:
        record = bus.get(AI_STATUS_KEY) or {}
    except BusUnavailable:
        return "offline"
    state = record.get("state")
    return state if state in AI_STATES else "offline"


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
        "ai": ai_status(bus),
        "version": version,
    }
