"""Notify's run-time settings: who gets alerts, over which channels (edited on the admin's
settings page, stored with the other sections by webapp.siteconfig)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.pii import PiiCipher
from webapp.siteconfig import ConfigError, load_section

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9]{10,15}$")


@dataclass(frozen=True)
class ChannelConfig:
    """Who gets alerts, and through which gateways (base URLs come from Settings)."""

    SECTION: ClassVar[str] = "channels"

    emails: tuple[str, ...] = ()
    telegram_token: str = ""
    telegram_chat_ids: tuple[str, ...] = ()
    sms_provider: str = "generic"
    sms_api_key: str = ""
    sms_phones: tuple[str, ...] = ()

    @classmethod
    def defaults(cls, settings: Settings) -> ChannelConfig:
        return cls(emails=(settings.admin_email,))

    def check(self) -> None:
        for email in self.emails:
            if not EMAIL.match(email):
                raise ConfigError(_("Адрес «%(v)s» не похож на email.", v=email), "emails")
        for chat in self.telegram_chat_ids:
            if not re.match(r"^-?\d{1,20}$|^@\w{4,64}$", chat):
                raise ConfigError(_("Чат Telegram «%(v)s»: число или @имя.", v=chat), "telegram")
        if self.telegram_chat_ids and not self.telegram_token:
            raise ConfigError(_("Укажите токен бота Telegram."), "telegram_token")
        for phone in self.sms_phones:
            if not PHONE.match(phone):
                raise ConfigError(_("Телефон «%(v)s»: 10–15 цифр, можно с +.", v=phone), "sms")
        if self.sms_provider not in ("generic", "smsru"):
            raise ConfigError(_("Неизвестный SMS-провайдер."), "sms_provider")


def load_channels(session: Session, settings: Settings, cipher: PiiCipher) -> ChannelConfig:
    return load_section(session, ChannelConfig, settings, cipher)
