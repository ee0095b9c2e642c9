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
