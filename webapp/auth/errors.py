from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l


class AuthError(Exception):
    """str() is a message fit to show the person."""


class InvalidCredentials(AuthError):
    def __init__(self) -> None:
        # The same words for an unknown email and a wrong password, so nothing can be enumerated.
        super().__init__(_l("Неверный email или пароль"))


class AccountBlocked(AuthError):
    def __init__(self) -> None:
        super().__init__(_l("Аккаунт заблокирован. Обратитесь в поддержку."))


class AccountLocked(AuthError):
    def __init__(self, until: datetime) -> None:
        super().__init__(_l("Слишком много неверных попыток. Вход закрыт до"))
        self.until = until


class EmailNotConfirmed(AuthError):
    def __init__(self, user_id: int) -> None:
        super().__init__(_l("Email ещё не подтверждён. Откройте ссылку из письма."))
        self.user_id = user_id


class DeviceLimitReached(AuthError):
    def __init__(self, user_id: int) -> None:
        super().__init__(_l("Вы вошли на максимальном числе устройств. Завершите один из сеансов."))
        self.user_id = user_id


class RefreshReused(AuthError):
    """A rotated refresh token came back: the whole family is revoked."""


class LinkInvalid(AuthError):
    def __init__(self, reason: str) -> None:
        messages = {
            "expired": _l("Срок действия ссылки истёк."),
            "used": _l("Эта ссылка уже использована."),
            "unknown": _l("Ссылка недействительна."),
        }
        super().__init__(messages[reason])
        self.reason = reason


class ResendTooSoon(AuthError):
    def __init__(self, seconds: int) -> None:
        super().__init__(_l("Отправить письмо ещё раз можно через %(s)s с", s=seconds))
        self.seconds = seconds
