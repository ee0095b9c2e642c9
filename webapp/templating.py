"""Template globals: cache-busted static URLs, theme, locale."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from flask import Flask, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from webapp.accounts.access import may_override, outranks
from webapp.i18n import current_theme
from webapp.monitoring.catalogue import SOURCE_LABELS
from webapp.monitoring.events import event_name

ROLE_NAMES = {
    "user": _l("Пользователь"),
    "manager": _l("Менеджер"),
    "moderator": _l("Модератор"),
    "admin": _l("Администратор"),
}
STATE_NAMES = {
    "active": _l("активные"),
    "blocked": _l("заблокированные"),
    "locked": _l("вход закрыт"),
    "unconfirmed": _l("без подтверждения"),
}

LOG_NAMES = {
    "security": _l("безопасность"),
    "business": _l("бизнес-логика"),
    "system": _l("системный"),
    "audit": _l("аудит"),
}
SEVERITY_NAMES = {"low": _l("низкая"), "medium": _l("средняя"), "high": _l("высокая")}
CHARACTER_STATES = {
    "draft": _l("черновик"),
    "published": _l("опубликован"),
    "hidden": _l("скрыт"),
}
ALERT_STATES = {"firing": _l("действует"), "resolved": _l("закончилась")}
REPORT_STATES = {
    "open": _l("ждёт решения"),
    "dismissed": _l("отклонена"),
    "actioned": _l("приняты меры"),
}


def register_template_helpers(app: Flask) -> None:
    static_root = Path(app.static_folder or "")

    @lru_cache(maxsize=256)
    def _digest(filename: str) -> str:
        try:
            return hashlib.sha256((static_root / filename).read_bytes()).hexdigest()[:12]
        except OSError:
            return "missing"

    def static_url(filename: str) -> str:
        return url_for("static", filename=filename, v=_digest(filename))

    @app.template_filter("timestamp_format")
    def timestamp_format(epoch: float, pattern: str = "d MMM, HH:mm") -> str:
        """Epoch seconds as a date and time in the viewer's time zone."""
        return format_datetime(datetime.fromtimestamp(float(epoch), UTC), pattern)

    @app.context_processor
    def _globals():
        return {
            "static_url": static_url,
            "theme": current_theme(),
            "locale": str(get_locale()),
            "role_names": ROLE_NAMES,
            "state_names": STATE_NAMES,
            "severity_names": SEVERITY_NAMES,
            "character_states": CHARACTER_STATES,
            "report_states": REPORT_STATES,
            "alert_states": ALERT_STATES,
            "event_name": event_name,
            "log_names": LOG_NAMES,
            "source_labels": SOURCE_LABELS,
            "outranks": outranks,
            "may_override": may_override,
        }
