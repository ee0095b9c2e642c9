"""HTTP glue for tokens: cookies in, current_user out, rotated cookies back on the response."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.accounts.models import User
from webapp.auth import sessions
from webapp.auth.devices import describe
from webapp.auth.errors import RefreshReused
from webapp.auth.sessions import Tokens
from webapp.auth.tokens import TokenInvalid
from webapp.auth.totp import TooManyCodes
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_settings, login_manager

ACCESS_COOKIE = "mh_access"
REFRESH_COOKIE = "mh_refresh"
# The accounts that signed in on this browser before (signed, not secret): a lockout after
# wrong passwords from elsewhere does not shut them out here (see auth.throttle).
KNOWN_COOKIE = "mh_known"
KNOWN_MAX = 5
KNOWN_DAYS = 365


def client_ip() -> str:
    return request.remote_addr or ""


def too_many_codes(exc: TooManyCodes) -> str:
    return _(
        "Код: слишком много неверных попыток. Следующая попытка — после %(time)s.",
        time=format_datetime(exc.until, "HH:mm"),
    )


def client_device() -> str:
    return describe(request.headers.get("User-Agent", ""))


def load_user_from_cookies(_request) -> User | None:
    """flask-login's request loader: the access token, else a transparent refresh."""
    settings, now = get_settings(), utcnow()
    access = request.cookies.get(ACCESS_COOKIE)
    if access:
        try:
            user, device_session = sessions.authenticate_access(db.session, settings, access, now)
        except TokenInvalid:
            pass
        else:
            g.device_session = device_session
            db.session.commit()  # last_seen_at, at most once a minute
            return user
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        if access:
            g.auth_cookies = None  # a dead access token: clear it
        return None
    try:
        user, device_session, tokens = sessions.refresh(
            db.session, settings, get_bus(), refresh, ip=client_ip(), now=now
        )
    except (TokenInvalid, RefreshReused):
        db.session.commit()  # a reuse has ended the family and logged it
        g.auth_cookies = None
        return None
    db.session.commit()
    g.device_session = device_session
    g.auth_cookies = tokens
    return user


def _known_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="mehhost known device")


def known_accounts() -> list[int]:
    """The account ids this browser signed in to before (an altered cookie counts for none)."""
    raw = request.cookies.get(KNOWN_COOKIE, "")
    try:
        ids = _known_signer().loads(raw) if raw else []
    except BadSignature:
        return []
    return [i for i in ids if isinstance(i, int)][:KNOWN_MAX] if isinstance(ids, list) else []


def remember_device(response: Response, user_id: int) -> None:
    ids = [user_id, *(i for i in known_accounts() if i != user_id)][:KNOWN_MAX]
    response.set_cookie(
        KNOWN_COOKIE, _known_signer().dumps(ids), max_age=KNOWN_DAYS * 86400, **_cookie_options()
    )


def _cookie_options() -> dict:
    """Every cookie of ours: not for scripts, not sent cross-site, HTTPS-only in production."""
    return {"httponly": True, "samesite": "Lax", "secure": get_settings().production, "path": "/"}


def set_auth_cookies(response: Response, tokens: Tokens | None) -> None:
    settings, options = get_settings(), _cookie_options()
    if tokens is None:
        response.delete_cookie(ACCESS_COOKIE, **options)
        response.delete_cookie(REFRESH_COOKIE, **options)
        return
    response.set_cookie(
        ACCESS_COOKIE, tokens.access, max_age=settings.access_token_minutes * 60, **options
    )
    if tokens.refresh is not None:
        response.set_cookie(
            REFRESH_COOKIE, tokens.refresh, max_age=settings.refresh_token_days * 86400, **options
        )


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Войдите, чтобы продолжить")
    login_manager.login_message_category = "info"
    login_manager.request_loader(load_user_from_cookies)

    @app.after_request
    def _write_auth_cookies(response: Response) -> Response:
        if "auth_cookies" in g:
            set_auth_cookies(response, g.auth_cookies)
            response.vary.add("Cookie")
        return response
