"""Writing and purging the security, business and system logs."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


# Security events also go to a text file, one line each, for fail2ban (config/fail2ban):
#   2026-11-29T21:00:00Z security login_failed ip=203.0.113.9 user=5 reason=wrong_password
_security_file = logging.getLogger("mehhost.security_file")
_security_file.propagate = False
_security_file.setLevel(logging.INFO)
_UNSAFE = re.compile(r"[^\w.:@/+-]")


def install_security_file(path: Path | None) -> None:
    """Write security lines to `path` (once per path, however many apps a process builds)."""
    if path is None:
        return
    target = str(path.resolve())
    if any(getattr(h, "baseFilename", None) == target for h in _security_file.handlers):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.WatchedFileHandler(target, encoding="utf-8")  # follows logrotate
    handler.setFormatter(logging.Formatter("%(message)s"))
    _security_file.addHandler(handler)


def _token(value: Any) -> str:
    return _UNSAFE.sub("_", str(value))[:80] or "-"


def security(session: Session, event: str, **kwargs: Any) -> LogEntry:
    entry = record(session, LogCategory.SECURITY, event, **kwargs)
    if _security_file.handlers:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = {"ip": kwargs.get("ip"), "user": kwargs.get("user_id")}
        fields |= {k: v for k, v in kwargs.items() if k not in ("ip", "user_id", "device")}
        pairs = " ".join(
            f"{_token(k)}={_token(v if v is not None else '-')}" for k, v in fields.items()
        )
        _security_file.info("%s security %s %s", stamp, _token(event), pairs)
    return entry


def business(session: Session, event: str, **kwargs: Any) -> LogEntry:
    return record(session, LogCategory.BUSINESS, event, **kwargs)


def system(session: Session, event: str, **kwargs: Any) -> LogEntry:
    """What the site itself did: start-ups, nodes linked and lost, tasks that failed."""
    return record(session, LogCategory.SYSTEM, event, **kwargs)


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
