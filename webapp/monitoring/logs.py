"""Writing and purging the security, business and system logs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.monitoring.models import RETENTION_DAYS, LogCategory, LogEntry


def record(
    session: Session,
    category: LogCategory,
    event: str,
    *,
    user_id: int | None = None,
    ip: str | None = None,
    device: str | None = None,
    **detail: Any,
) -> LogEntry:
    """Add one log entry to the session (the caller's commit makes it stick)."""
    entry = LogEntry(
        category=category,
        event=event,
        user_id=user_id,
        ip=ip,
        device=(device or "")[:120] or None,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else "",
    )
    session.add(entry)
    return entry


def security(session: Session, event: str, **kwargs: Any) -> LogEntry:
    return record(session, LogCategory.SECURITY, event, **kwargs)


def business(session: Session, event: str, **kwargs: Any) -> LogEntry:
    return record(session, LogCategory.BUSINESS, event, **kwargs)


def purge_expired(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Delete entries older than their category's retention; return how many per category."""
    now = now or utcnow()
    removed = {}
    for category, days in RETENTION_DAYS.items():
        result = session.execute(
            delete(LogEntry).where(
                LogEntry.category == category, LogEntry.created_at < now - timedelta(days=days)
            )
        )
        removed[category.value] = result.rowcount or 0
    return removed


def audit(
    session: Session,
    event: str,
    *,
    user_id: int | None,
    ip: str | None,
    device: str | None,
    target: str,
    before: Any,
    after: Any,
) -> LogEntry:
    """An admin's or moderator's action: who, from where, on what, and the state before/after."""
    return record(
        session,
        LogCategory.AUDIT,
        event,
        user_id=user_id,
        ip=ip,
        device=device,
        target=target,
        before=before,
        after=after,
    )
