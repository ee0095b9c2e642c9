"""Settings an admin changes at run time, a shared service (admin edits them; the app factory,
the worker and the domains read them): the store, and the two sections that change Settings
(SMTP, security). A domain keeps its own sections (notify's alert channels: notify/config.py).

Each section is a frozen dataclass naming its row (`SECTION`), with `defaults(settings)` and
`check()`. Saved sections live in site_settings (secrets encrypted); the environment's Settings
give the defaults. Each process re-reads them when the bus says they changed.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from flask_babel import gettext as _
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.settings import Settings
from webapp.bus import Bus, BusUnavailable
from webapp.db import Base, UTCDateTime, utcnow
from webapp.pii import PiiCipher

CONFIG_VERSION_KEY = "site_config_version"
SECRET_FIELDS = {"password", "telegram_token", "sms_api_key"}  # encrypted in any section
RATE = re.compile(r"^\d{1,5} per (second|minute|hour|day)$")


class ConfigError(ValueError):
    """A setting typed by an admin is invalid; `field` names it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class SiteSetting(Base):
    """One section of the settings an admin edits at run time (SMTP, security, channels).

    `value` is JSON; secrets inside it (passwords, tokens) are encrypted with the PII key.
    """

    __tablename__ = "site_settings"

    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


@dataclass(frozen=True)
class SmtpConfig:
    SECTION: ClassVar[str] = "smtp"

    host: str
    port: int
    user: str
    password: str
    starttls: bool
    mail_from: str

    @classmethod
    def defaults(cls, settings: Settings) -> SmtpConfig:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_user,
            settings.smtp_password,
            settings.smtp_starttls,
            settings.mail_from,
        )

    def apply(self, settings: Settings) -> Settings:
        return dataclasses.replace(
            settings,
            smtp_host=self.host,
            smtp_port=self.port,
            smtp_user=self.user,
            smtp_password=self.password,
            smtp_starttls=self.starttls,
            mail_from=self.mail_from,
        )

    def check(self) -> None:
        if not self.host.strip():
            raise ConfigError(_("SMTP-сервер: укажите адрес."), "host")
        if not 1 <= self.port <= 65535:
            raise ConfigError(_("Порт: число от 1 до 65535."), "port")
        if "@" not in self.mail_from:
            raise ConfigError(_("Отправитель: укажите адрес с @."), "mail_from")


@dataclass(frozen=True)
class SecurityConfig:
    SECTION: ClassVar[str] = "security"

    lockout_attempts: int
    lockout_minutes: int
    access_token_minutes: int
    refresh_token_days: int
    login_rate: str

    @classmethod
    def defaults(cls, settings: Settings) -> SecurityConfig:
        return cls(
            settings.lockout_attempts,
            settings.lockout_minutes,
            settings.access_token_minutes,
            settings.refresh_token_days,
            settings.login_rate,
        )

    def apply(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, **dataclasses.asdict(self))

    def check(self) -> None:
        bounds = {
            "lockout_attempts": (1, 100, _("Попыток до блокировки: от 1 до 100.")),
            "lockout_minutes": (1, 1440, _("Блокировка, минут: от 1 до 1440.")),
            "access_token_minutes": (1, 1440, _("Токен доступа, минут: от 1 до 1440.")),
            "refresh_token_days": (1, 365, _("Токен обновления, дней: от 1 до 365.")),
        }
        for name, (low, high, message) in bounds.items():
            if not low <= getattr(self, name) <= high:
                raise ConfigError(message, name)
        if not RATE.match(self.login_rate):
            raise ConfigError(_("Лимит входов: например «10 per minute»."), "login_rate")


# The sections that change the Settings everything else reads (`apply`).
SETTINGS_SECTIONS: tuple[type, ...] = (SmtpConfig, SecurityConfig)


def _encode(section: Any, cipher: PiiCipher) -> str:
    data = dataclasses.asdict(section)
    for name in SECRET_FIELDS & data.keys():
        if data[name]:
            sealed = cipher.encrypt(data[name], purpose=f"setting:{name}")
            data[name] = base64.b64encode(sealed).decode()
    return json.dumps(data, ensure_ascii=False)


def _decode(kind: type, raw: str, cipher: PiiCipher, default: Any) -> Any:
    data = json.loads(raw)
    for name in SECRET_FIELDS & data.keys():
        if data[name]:
            data[name] = cipher.decrypt(base64.b64decode(data[name]), purpose=f"setting:{name}")
    known = {field.name: field for field in fields(kind)}
    values = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in data.items()
        if name in known
    }
    return dataclasses.replace(default, **values)


def load_section(session: Session, kind: type, settings: Settings, cipher: PiiCipher) -> Any:
    """The saved section of this kind, or its defaults from the environment's Settings."""
    default = kind.defaults(settings)
    row = session.get(SiteSetting, kind.SECTION)
    return default if row is None else _decode(kind, row.value, cipher, default)


def save_section(session: Session, section: Any, cipher: PiiCipher, by_user_id: int | None) -> None:
    section.check()
    name = section.SECTION
    row = session.get(SiteSetting, name) or SiteSetting(section=name)
    row.value, row.updated_at, row.updated_by = _encode(section, cipher), utcnow(), by_user_id
    session.add(row)


def effective_settings(session: Session, base: Settings, cipher: PiiCipher) -> Settings:
    """The environment's Settings with every saved section applied."""
    settings = base
    names = set(session.scalars(select(SiteSetting.section)))
    for kind in SETTINGS_SECTIONS:
        if kind.SECTION in names:
            settings = load_section(session, kind, base, cipher).apply(settings)
    return settings


def redact(section: Any) -> dict[str, Any]:
    """A section for the audit log: secrets say only whether they are set."""
    data = dataclasses.asdict(section)
    for name in SECRET_FIELDS & data.keys():
        data[name] = "***" if data[name] else ""
    return data


def refresh(app: Any, *, force: bool = False) -> None:
    """Re-read saved sections into app's Settings when another process saved some (checked on the
    bus at most every 10 s) or when forced. A database without the table yet keeps the defaults."""
    from webapp.extensions import db  # the app's Database; extensions imports nothing of ours

    state = app.extensions.setdefault("mehhost.config_state", {"checked": 0.0, "version": None})
    now = time.monotonic()
    if not force and now - state["checked"] < 10:
        return
    state["checked"] = now
    try:
        version = (app.extensions["mehhost.bus"].get(CONFIG_VERSION_KEY) or {}).get("v")
    except BusUnavailable:
        version = state["version"]
    if not force and version == state["version"]:
        return
    base = app.extensions["mehhost.base_settings"]
    session = db.new_session()
    try:
        app.extensions["mehhost.settings"] = effective_settings(
            session, base, app.extensions["mehhost.pii"]
        )
        state["version"] = version
    except SQLAlchemyError:
        app.extensions["mehhost.settings"] = base
    finally:
        session.close()


def announce_change(bus: Bus) -> None:
    """Tell every process to re-read the sections (call after commit)."""
    bus.set(CONFIG_VERSION_KEY, {"v": uuid.uuid4().hex})
