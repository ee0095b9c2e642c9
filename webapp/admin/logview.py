"""Finding log entries for the admin's log viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.monitoring.models import LogEntry
from webapp.rendering import drop_empty

LOG_PAGE = 100


@dataclass(frozen=True)
class LogQuery:
    category: str = ""
    event: str = ""
    user_id: int | None = None
    days: int = 7
    page: int = 1

    def link(self, **changes: Any) -> dict[str, Any]:
        values = {
            "category": self.category,
            "event": self.event,
            "user": self.user_id,
            "days": self.days,
            "page": self.page,
        }
        return drop_empty({**values, **changes})


def search_logs(session: Session, query: LogQuery, since: datetime) -> tuple[list[LogEntry], int]:
    statement = select(LogEntry).where(LogEntry.created_at >= since)
    if query.category:
        statement = statement.where(LogEntry.category == query.category)
    if query.event:
        statement = statement.where(LogEntry.event == query.event)
    if query.user_id:
        statement = statement.where(LogEntry.user_id == query.user_id)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(LogEntry.id.desc()).limit(LOG_PAGE).offset((query.page - 1) * LOG_PAGE)
    ).all()
    return list(rows), total
