from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow


class SiteSetting(Base):
    """One section of the settings an admin edits at run time (SMTP, security, channels).

    `value` is JSON; secrets inside it (passwords, tokens) are encrypted with the PII key.
    """

    __tablename__ = "site_settings"

    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
