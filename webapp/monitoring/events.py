"""What each logged event is called in the staff pages: every event the code records (a test
walks the code and fails on one missing here)."""

from __future__ import annotations

import json
from typing import Any

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
    # system
    "started": _l("сайт запущен"),
    "node_linked": _l("ПК с ИИ подключился"),
    "node_unlinked": _l("ПК с ИИ отключился"),
    "task_failed": _l("фоновая задача не выполнена"),
}


def event_name(event: str) -> str:
    """The event's Russian name, or its key when the catalogue has none."""
    return str(EVENT_NAMES.get(event, event))


# A log entry's details (JSON) as people read them: each known key named, values in words.
DETAIL_LABELS = {
    "target": _l("объект"),
    "before": _l("было"),
    "after": _l("стало"),
    "old": _l("было"),
    "new": _l("стало"),
    "reason": _l("причина"),
    "until": _l("до"),
    "by": _l("кто"),
    "message_id": _l("сообщение"),
    "count": _l("сколько"),
    "character": _l("персонаж"),
    "version": _l("версия"),
    "state": _l("состояние"),
    "role": _l("роль"),
    "kind": _l("вид"),
    "locked_until": _l("вход закрыт до"),
    "device": _l("устройство"),
    "device_session": _l("сеанс"),
    "presented": _l("ключ предъявлен"),
    "restored": _l("возвращена версия"),
    "action": _l("действие"),
    "resumed": _l("ответов продолжено"),
    "node": _l("узел"),
    "model": _l("модель"),
    "capacity": _l("мест"),
    "task": _l("задача"),
    "error": _l("ошибка"),
}
VALUE_NAMES = {
    "published": _l("опубликован"),
    "draft": _l("черновик"),
    "hidden": _l("скрыт"),
    "open": _l("ждёт решения"),
    "dismissed": _l("отклонена"),
    "actioned": _l("приняты меры"),
    "user": _l("пользователь"),
    "manager": _l("менеджер"),
    "moderator": _l("модератор"),
    "admin": _l("администратор"),
    "waiting": _l("пауза после неудачных попыток"),
    "wrong_password": _l("неверный пароль"),
    "unknown_email": _l("неизвестный адрес"),
    "blocked": _l("заблокирован"),
    "yes": _l("да"),
    "no": _l("нет"),
    "emergency_stop": _l("аварийная остановка"),
    "true": _l("да"),
    "false": _l("нет"),
    "null": "—",
}


def _value(value: Any, people: dict[int, str], key: str = "") -> str:
    if isinstance(value, dict):
        return ", ".join(f"{detail_label(k)}: {_value(v, people, k)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(v, people) for v in value)
    if key == "by" and isinstance(value, int):
        return people.get(value, f"#{value}")
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return str(VALUE_NAMES.get(text, text))


def detail_label(key: str) -> str:
    return str(DETAIL_LABELS.get(key, key))


def detail_parts(detail: str, people: dict[int, str] | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of a log entry's details; text that is not JSON stays as it is."""
    if not detail:
        return []
    try:
        data = json.loads(detail)
    except ValueError:
        return [("", detail)]
    if not isinstance(data, dict):
        return [("", _value(data, people or {}))]
    return [(detail_label(key), _value(value, people or {}, key)) for key, value in data.items()]


def people_named(details: list[str]) -> set[int]:
    """The user ids the details name as "by" (for one query of their names)."""
    found = set()
    for detail in details:
        try:
            data = json.loads(detail) if detail else None
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("by"), int):
            found.add(data["by"])
    return found
