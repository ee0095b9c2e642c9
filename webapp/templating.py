"""Template globals: cache-busted static URLs, theme, locale."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from flask import Flask, g, url_for
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    to_user_timezone,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from webapp.accounts.access import may_override, outranks
from webapp.characters import macros
from webapp.chat import personas
from webapp.chat.markup import to_html
from webapp.db import utcnow
from webapp.extensions import db
from webapp.i18n import current_theme
from webapp.monitoring.catalogue import SOURCE_LABELS
from webapp.monitoring.events import detail_parts, event_name

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

    @app.template_filter("markdown")
    def markdown(text: str) -> Markup:
        return to_html(text)

    @app.template_filter("filled")
    def filled(text: str, character) -> str:
        """A character's text as the person reads it: {{char}} and {{user}} filled in."""
        if not text or "{{" not in text:
            return text or ""
        if "reader_name" not in g:  # once a request: the default persona's name, else theirs
            g.reader_name = (
                personas.speaker_name(db.session, current_user.id, current_user.display_name)
                if current_user.is_authenticated
                else "{{user}}"
            )
        return macros.expand(text, char=character.nickname or character.name, user=g.reader_name)

    @app.template_filter("number")
    def number(value: float, digits: int = 1) -> str:
        """A number as the viewer's language writes it (31,4 in Russian)."""
        return format_decimal(round(float(value), digits))

    @app.template_filter("when")
    def when(moment: datetime, with_time: bool = True) -> str:
        """A human date in the viewer's time zone: «14:05» today, «вчера, 14:05», «1 декабря,
        14:05», with the year when it is not this one (`with_time=False`: the day alone,
        «сегодня» for today)."""
        local, today = to_user_timezone(moment), to_user_timezone(utcnow()).date()
        day = local.date()
        if day == today:
            label = None if with_time else str(_l("сегодня"))
        elif day == today - timedelta(days=1):
            label = str(_l("вчера"))
        else:
            label = format_date(local, "d MMMM" if day.year == today.year else "d MMMM y")
        if not with_time:
            return label
        clock = format_time(local, "HH:mm")
        return f"{label}, {clock}" if label else clock

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
            "detail_parts": detail_parts,
            "log_names": LOG_NAMES,
            "source_labels": SOURCE_LABELS,
            "outranks": outranks,
            "may_override": may_override,
        }
