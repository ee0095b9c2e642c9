from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from webapp.db import Base, UTCDateTime, utcnow
from webapp.pii import Encrypted, PiiCipher, active_cipher


class Role(StrEnum):
    """Roles in increasing order of power: each one may do everything the ones before it may."""

    USER = "user"
    MANAGER = "manager"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


def name_hash(cipher: PiiCipher, name: str) -> str:
    """The keyed hash a display name is found by: whole, spaces collapsed, any case."""
    return cipher.lookup_hash(" ".join(name.split()))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The address is stored encrypted; email_hash (keyed HMAC) is what lookups and uniqueness use.
    email_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Personal data: encrypted at rest; the keyed hash (of the name case-folded) finds it exactly.
    display_name: Mapped[str] = mapped_column(Encrypted("display_name"))
    display_name_hash: Mapped[str] = mapped_column(String(64), index=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(String(16), default=Role.USER, index=True)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    # Wrong passwords are counted in auth.throttle (by email hash, so unknown ones count too).
    locale: Mapped[str] = mapped_column(String(8), default="ru")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    # Emails about planned maintenance (24 h, 12 h and 1 h ahead); the person may turn them off.
    maintenance_emails: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # A second factor (TOTP, RFC 6238): the secret encrypted like the email; the last time step
    # used, so one code cannot be played twice. An emergency stop needs it.
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Wrong codes since totp_failed_since (any use: enrolment, disabling, an emergency stop); at
    # the limit no code is even checked until the window runs out.
    totp_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    totp_failed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the person closed the first-sign-in tour (None: it is shown on the catalogue).
    tour_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("display_name")
    def _keep_name_hash(self, _key: str, value: str) -> str:
        self.display_name_hash = name_hash(active_cipher(), value)
        return value

    # flask-login's user protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return not self.is_blocked

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
