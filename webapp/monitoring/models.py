from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow


class LogCategory(StrEnum):
    """Each category has its own retention (see RETENTION_DAYS)."""

    SECURITY = "security"
    BUSINESS = "business"
    SYSTEM = "system"


RETENTION_DAYS = {LogCategory.SECURITY: 90, LogCategory.BUSINESS: 30, LogCategory.SYSTEM: 7}


class LogEntry(Base):
    """One audited event: who (user, IP, device), what, when. Purged after its retention."""

    __tablename__ = "log_entries"
    __table_args__ = (Index("ix_log_entries_category_created", "category", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[LogCategory] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    ip: Mapped[str | None] = mapped_column(String(45))
    device: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
