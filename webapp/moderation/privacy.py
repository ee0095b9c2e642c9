"""The reports a person filed, for their data export (accounts.privacy)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.moderation.models import MessageReport


def export_reports(session: Session, user_id: int) -> list[dict]:
    reports = session.scalars(
        select(MessageReport)
        .where(MessageReport.reporter_id == user_id)
        .order_by(MessageReport.created_at)
    )
    return [
        {
            "message_id": report.message_id,
            "reason": report.reason,
            "state": report.state,
            "at": report.created_at.isoformat(),
            "handled_at": report.handled_at.isoformat() if report.handled_at else None,
        }
        for report in reports
    ]
