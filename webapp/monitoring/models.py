from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow
from webapp.pii import Encrypted


class LogCategory(StrEnum):
    """Each category has its own retention (see RETENTION_DAYS)."""

    SECURITY = "security"
    BUSINESS = "business"
    SYSTEM = "system"
    AUDIT = "audit"  # every admin and moderator action, with before and after


RETENTION_DAYS = {
    LogCategory.SECURITY: 90,
    LogCategory.BUSINESS: 30,
    LogCategory.SYSTEM: 7,
    LogCategory.AUDIT: 365,
}


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
    # Personal data: encrypted at rest (the security log file keeps the IP for fail2ban).
    ip: Mapped[str | None] = mapped_column(Encrypted("ip"))
    device: Mapped[str | None] = mapped_column(Encrypted("device"))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetricPoint(Base):
    """One metric over one minute (kept 7 days) or ten minutes (kept 90 days)."""

    __tablename__ = "metric_points"
    __table_args__ = (UniqueConstraint("source", "metric", "step", "bucket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    metric: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(Integer)  # seconds: 60 or 600
    bucket: Mapped[datetime] = mapped_column(UTCDateTime)  # the window's start
    mean: Mapped[float] = mapped_column(Float)
    peak: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer)


class Threshold(Base):
    """An admin's levels for one metric; metrics without a row use thresholds.DEFAULTS."""

    __tablename__ = "thresholds"

    metric: Mapped[str] = mapped_column(
        String(40), primary_key=True
    )  # catalogue key, "pc.cpu_percent"
    warning: Mapped[float] = mapped_column(Float)
    critical: Mapped[float] = mapped_column(Float)
    hysteresis: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Severity(StrEnum):
    LOW = "low"  # the panel and the daily report
    MEDIUM = "medium"  # also email and Telegram
    HIGH = "high"  # also SMS; escalated until acknowledged


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(Base):
    """Something an admin should know about; one row per episode of the same key."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key_started", "key", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))  # "threshold:pc.cpu_percent", "anomaly:…"
    severity: Mapped[Severity] = mapped_column(String(8))
    state: Mapped[AlertState] = mapped_column(String(8), default=AlertState.FIRING, index=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)
    threshold_value: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_count: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ack_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # retried with backoff, never dropped


class AlertDelivery(Base):
    """One notification of one alert to one recipient on one channel."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_status_next", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email, telegram, sms
    recipient: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(16))  # fired, escalated, resolved
    text: Mapped[str] = mapped_column(Text)  # composed when queued: the ack link is in it
    status: Mapped[DeliveryStatus] = mapped_column(String(8), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
