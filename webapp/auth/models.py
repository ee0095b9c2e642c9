from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow
from webapp.pii import Encrypted


class DeviceSession(Base):
    """One signed-in device; also the refresh-token family (refresh_jti is the live one)."""

    __tablename__ = "device_sessions"
    __table_args__ = (Index("ix_device_sessions_user_ended", "user_id", "ended_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    refresh_jti: Mapped[str] = mapped_column(String(32))
    # The jti rotated away last and when: two tabs refreshing at once present the same old token
    # within seconds, which is not theft (see sessions.REUSE_GRACE).
    previous_jti: Mapped[str | None] = mapped_column(String(32))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(Encrypted("device"))  # personal data: encrypted
    ip: Mapped[str] = mapped_column(Encrypted("ip"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))

    @property
    def active(self) -> bool:
        return self.ended_at is None


class LinkPurpose(StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose name, not a password)


class LinkToken(Base):
    """A single-use emailed link. Only the SHA-256 of the secret part is stored."""

    __tablename__ = "link_tokens"
    __table_args__ = (Index("ix_link_tokens_user_purpose", "user_id", "purpose", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[LinkPurpose] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Wrong passwords counted per account, per (account, IP) and per IP; subjects are keyed
    hashes (the email's lookup hash, never an address or an IP in the clear). Unknown emails
    are counted the same way, so the answers cannot tell which addresses have accounts."""

    __tablename__ = "login_throttles"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # account | pair | ip
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
