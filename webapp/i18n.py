"""Locale and theme selection: Russian and dark by default, a cookie to change either."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import has_request_context, request
from flask_login import current_user

LOCALES = ("ru", "en")
THEMES = ("dark", "light")
DEFAULT_TIMEZONE = "Europe/Moscow"
# The site's own time: schedules (reports, backups) and staff-facing times are in Moscow time.
MOSCOW = ZoneInfo(DEFAULT_TIMEZONE)


def select_locale() -> str:
    if not has_request_context():
        return LOCALES[0]
    chosen = request.cookies.get("lang")
    return chosen if chosen in LOCALES else LOCALES[0]


def select_timezone() -> str:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.timezone
    return DEFAULT_TIMEZONE


def current_theme() -> str:
    if not has_request_context():  # a template rendered by the worker (reports, emails)
        return THEMES[0]
    chosen = request.cookies.get("theme")
    return chosen if chosen in THEMES else THEMES[0]
