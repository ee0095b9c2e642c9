"""Admin settings pages: SMTP (with a test email), security parameters, alert channels; logs."""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from webapp import siteconfig as config
from webapp.accounts.models import User
from webapp.accounts.service import email_of
from webapp.admin.access import admin_only
from webapp.admin.logview import LOG_PAGE, LogQuery, search_logs
from webapp.audit import audit_action
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_pii, get_settings
from webapp.forms import PAGE_LIMIT, query_int
from webapp.monitoring.events import people_named
from webapp.monitoring.models import RETENTION_DAYS, LogCategory
from webapp.notify.config import ChannelConfig
from webapp.notify.email import build_message, send_message
from webapp.rendering import render
from webapp.siteconfig import SecurityConfig, SmtpConfig

log = logging.getLogger(__name__)

bp = Blueprint("admin_settings", __name__, url_prefix="/admin")


SECTIONS = {kind.SECTION: kind for kind in (SmtpConfig, SecurityConfig, ChannelConfig)}


def _section(name: str):
    base = current_app.extensions["mehhost.base_settings"]
    return config.load_section(db.session, SECTIONS[name], base, get_pii())


def _sections():
    return {name: _section(name) for name in SECTIONS}


def _page(status: int = 200, errors: dict | None = None, drafts: dict | None = None):
    sections = {**_sections(), **(drafts or {})}
    return render(
        "admin/settings.html",
        "admin/settings.html",
        status=status,
        sections=sections,
        errors=errors or {},
    )


@bp.get("/settings")
@admin_only
def index():
    return _page()


def _lines(name: str) -> tuple[str, ...]:
    raw = request.form.get(name, "")
    return tuple(part.strip() for part in raw.replace(",", "\n").splitlines() if part.strip())


def _int(name: str) -> int:
    try:
        return int(request.form.get(name, "").strip())
    except ValueError:
        return -1


def _from_form(name: str, current):
    """The section as typed; an empty secret field keeps the stored secret."""
    form = request.form
    if name == "smtp":
        return SmtpConfig(
            host=form.get("host", "").strip(),
            port=_int("port"),
            user=form.get("user", "").strip(),
            password=form.get("password") or current.password,
            starttls=form.get("starttls") == "1",
            mail_from=form.get("mail_from", "").strip(),
        )
    if name == "security":
        return SecurityConfig(
            lockout_attempts=_int("lockout_attempts"),
            lockout_minutes=_int("lockout_minutes"),
            access_token_minutes=_int("access_token_minutes"),
            refresh_token_days=_int("refresh_token_days"),
            login_rate=form.get("login_rate", "").strip(),
        )
    return ChannelConfig(
        emails=_lines("emails"),
        telegram_token=form.get("telegram_token") or current.telegram_token,
        telegram_chat_ids=_lines("telegram_chat_ids"),
        sms_provider=form.get("sms_provider", "generic"),
        sms_api_key=form.get("sms_api_key") or current.sms_api_key,
        sms_phones=_lines("sms_phones"),
    )


def _test_send(smtp: SmtpConfig) -> str:
    """Send a test email with these SMTP settings to the signed-in admin; '' or the error."""
    settings = smtp.apply(get_settings())
    to = email_of(current_user, get_pii())
    message = build_message(
        settings,
        to,
        _("mehhost: проверка почты"),
        _("Это тестовое письмо: настройки SMTP работают."),
    )
    try:
        send_message(settings, message, timeout=10)
    except Exception as exc:  # any SMTP/socket failure: its kind on the page, its text in the log
        log.warning("SMTP test failed: %s: %s", type(exc).__name__, exc)
        return str(_smtp_failure(exc))
    return ""


def _smtp_failure(exc: Exception):
    """What went wrong, in words that say what to check and name no internal host or port
    (the server's own text, which can map the network behind it, goes to the log)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _l("сервер не принял логин или пароль")
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPRecipientsRefused):
        return _l("сервер не принял адрес отправителя или получателя")
    if isinstance(exc, ssl.SSLError | smtplib.SMTPNotSupportedError):
        return _l("не удалось договориться о шифровании: проверьте STARTTLS и порт")
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return _l("не удалось соединиться с сервером: проверьте адрес и порт")
    return _l("сервер ответил ошибкой; подробности в журнале сервера")


@bp.post("/settings/<name>")
@admin_only
def save(name: str):
    if name not in SECTIONS:
        abort(404)
    current = _section(name)
    section = _from_form(name, current)
    try:
        section.check()
    except config.ConfigError as exc:
        return _page(422, {name: (exc.field, str(exc))}, {name: section})
    if name == "smtp":
        error = _test_send(section)
        if error:  # keep the old settings: a broken SMTP would silence every alert
            message = _("Тестовое письмо не ушло, настройки не сохранены: %(e)s", e=error)
            return _page(422, {name: ("host", message)}, {name: section})
    config.save_section(db.session, section, get_pii(), current_user.id)
    audit_action(
        "settings_changed", f"settings:{name}", config.redact(current), config.redact(section)
    )
    db.session.commit()
    config.announce_change(get_bus())
    config.refresh(current_app._get_current_object(), force=True)
    flash(_("Настройки сохранены"), "ok")
    return redirect(url_for("admin_settings.index") + f"#{name}")


@bp.post("/settings/smtp/test")
@admin_only
def test_email():
    error = _test_send(_section("smtp"))
    if error:
        flash(_("Тестовое письмо не ушло: %(e)s", e=error), "error")
    else:
        flash(_("Тестовое письмо отправлено на ваш адрес"), "ok")
    return redirect(url_for("admin_settings.index") + "#smtp")


@bp.get("/logs")
@admin_only
def log_list():
    category = request.args.get("category", "")
    query = LogQuery(
        category=category if category in {c.value for c in LogCategory} else "",
        event=request.args.get("event", "").strip()[:64],
        user_id=query_int("user"),
        days=max(1, min(365, request.args.get("days", 7, type=int) or 7)),
        page=query_int("page", 1, high=PAGE_LIMIT),
    )
    db.read_only()
    entries, total = search_logs(db.session, query, utcnow() - timedelta(days=query.days))
    ids = {entry.user_id for entry in entries if entry.user_id}
    ids |= people_named([entry.detail for entry in entries])
    people = (
        dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
        if ids
        else {}
    )  # one query for the page, names decrypted as they are read
    return render(
        "admin/logs.html",
        "admin/_logs_table.html",
        entries=entries,
        people=people,
        total=total,
        query=query,
        pages=max(1, -(-total // LOG_PAGE)),
        retention=RETENTION_DAYS,
        categories=list(LogCategory),
    )
