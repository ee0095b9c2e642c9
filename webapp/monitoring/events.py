"""What each logged event is called in the staff pages: every event the code records (a test
walks the code and fails on one missing here)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

EVENT_NAMES = {
    # security
    "login": _l("вошёл"),
    "login_failed": _l("неудачная попытка входа"),
    "login_refused_maintenance": _l("вход не пущен: идёт обслуживание"),
    "account_locked": _l("вход закрыт после неудачных попыток"),
    "account_unlocked": _l("вход снова открыт"),
    "session_ended": _l("вышел"),
    "other_sessions_ended": _l("завершил сеансы на других устройствах"),
    "refresh_token_reuse": _l("повтор старого токена: сеанс завершён"),
    "password_reset": _l("сменил пароль по ссылке из письма"),
    "register_existing_email": _l("попытка регистрации на уже занятый адрес"),
    "totp_enabled": _l("включил вход с кодом"),
    "totp_disabled": _l("отключил вход с кодом"),
    "totp_failed": _l("неверный код второго фактора"),
    "data_exported": _l("скачал свои данные"),
    "account_deleted": _l("удалил аккаунт"),
    "role_changed": _l("роль изменена"),
    "node_key_rejected": _l("ПК с ИИ предъявил неверный ключ"),
    # business
    "registered": _l("зарегистрировался"),
    "email_confirmed": _l("подтвердил адрес почты"),
    "maintenance_emails": _l("изменил подписку на письма об обслуживании"),
    "message_reported": _l("пожаловался на сообщение"),
    "character_created": _l("создал персонажа"),
    "character_changed": _l("изменил персонажа"),
    "character_rolled_back": _l("вернул прежнюю версию персонажа"),
    # audit
    "action_refused": _l("действие запрещено"),
    "alert_acknowledged": _l("принял тревогу"),
    "backup": _l("сделал резервную копию"),
    "backup_requested": _l("заказал резервную копию"),
    "user_blocked": _l("заблокировал пользователя"),
    "user_unblocked": _l("разблокировал пользователя"),
    "character_hidden": _l("скрыл персонажа"),
    "character_shown": _l("вернул персонажа в каталог"),
    "backup_downloaded": _l("скачал резервную копию"),
    "login_unlocked": _l("открыл вход пользователю"),
    "maintenance_recovery_started": _l("запустил восстановление после обслуживания"),
    "maintenance_requested": _l("запросил окно обслуживания"),
    "maintenance_confirmed": _l("подтвердил окно обслуживания"),
    "maintenance_rejected": _l("отклонил окно обслуживания"),
    "maintenance_cancelled": _l("отменил окно обслуживания"),
    "report_handled": _l("рассмотрел жалобу"),
    "report_requested": _l("заказал отчёт"),
    "settings_changed": _l("изменил настройки"),
    "threshold_changed": _l("изменил порог тревоги"),
}


def event_name(event: str) -> str:
    """The event's Russian name, or its key when the catalogue has none."""
    return str(EVENT_NAMES.get(event, event))
