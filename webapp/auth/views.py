from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.accounts.models import Role, User
from webapp.accounts.service import email_of, find_by_email
from webapp.auth import registration as reg
from webapp.auth import sessions
from webapp.auth.cookies import (
    client_device,
    client_ip,
    known_accounts,
    remember_device,
    set_auth_cookies,
)
from webapp.auth.errors import (
    AccountLocked,
    AuthError,
    DeviceLimitReached,
    EmailNotConfirmed,
    LinkInvalid,
    ResendTooSoon,
)
from webapp.auth.forms import EmailForm, LoginForm, NewPasswordForm, RegisterForm
from webapp.auth.links import RESEND_PAUSE, find_link
from webapp.auth.models import LinkPurpose
from webapp.auth.service import authenticate
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_pii, get_settings, limiter
from webapp.forms import attach_errors
from webapp.maintenance.banner import logins_blocked, registration_closed
from webapp.monitoring import logs
from webapp.notify.outbox import queue_email
from webapp.rendering import render, safe_next

bp = Blueprint("auth", __name__)

PENDING_LOGIN_SECONDS = 300


def _email_key() -> str:
    """Rate-limit key for per-account limits: the keyed hash of the submitted address."""
    return "acct:" + get_pii().lookup_hash(request.form.get("email", ""))


def _link(endpoint: str, token: str) -> str:
    return get_settings().base_url + url_for(endpoint, token=token)


def _send_confirmation(user, link: str) -> None:
    queue_email(
        db.session,
        email_of(user, get_pii()),
        _("Подтвердите email на mehhost chat"),
        "confirm",
        name=user.display_name,
        link=_link("auth.confirm", link),
    )


def _finish_login(user, next_url: str):
    try:
        _device_session, tokens = sessions.start_session(
            db.session,
            get_settings(),
            user,
            device=client_device(),
            ip=client_ip(),
            now=utcnow(),
        )
    except DeviceLimitReached:
        db.session.commit()
        session["pending_login"] = {"user_id": user.id, "at": utcnow().timestamp()}
        return redirect(url_for("auth.devices", next=next_url))
    db.session.commit()
    session.pop("pending_login", None)
    flash(_("Добро пожаловать, %(name)s!", name=user.display_name), "ok")
    response = redirect(safe_next(next_url, url_for("characters.catalogue")))
    set_auth_cookies(response, tokens)
    remember_device(response, user.id)
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: get_settings().login_rate, methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("characters.catalogue"))
    form = LoginForm()
    if request.method == "GET" and not form.email.data:
        form.email.data = session.pop("login_email", None)
    error = unconfirmed_email = None
    if form.validate_on_submit():
        try:
            user = authenticate(
                db.session,
                get_pii(),
                get_settings(),
                form.email.data,
                form.password.data,
                ip=client_ip(),
                known_accounts=known_accounts(),
                now=utcnow(),
            )
        except AccountLocked as exc:
            error = f"{exc} {format_datetime(exc.until, 'HH:mm, d MMMM')}"
        except EmailNotConfirmed as exc:
            error, unconfirmed_email = str(exc), form.email.data
        except AuthError as exc:
            error = str(exc)
        else:
            if not (logins_blocked() and user.role != Role.ADMIN):
                return _finish_login(user, request.args.get("next", ""))
            error = _("Вход временно закрыт: начинаются технические работы. Попробуйте позже.")
            logs.security(db.session, "login_refused_maintenance", user_id=user.id, ip=client_ip())
        db.session.commit()
    status = 422 if request.method == "POST" else 200
    return render(
        "auth/login.html",
        "auth/_login_form.html",
        status,
        form=form,
        error=error,
        resend_form=EmailForm(email=unconfirmed_email) if unconfirmed_email else None,
    )


@bp.route("/login/devices", methods=["GET", "POST"])
def devices():
    """The 6th device: pick a session to end, then the pending login completes."""
    pending = session.get("pending_login")
    if not pending or utcnow().timestamp() - pending["at"] > PENDING_LOGIN_SECONDS:
        session.pop("pending_login", None)
        return redirect(url_for("auth.login"))
    user = db.session.get(User, pending["user_id"])
    if user is None:
        return redirect(url_for("auth.login"))
    active = sessions.active_sessions(db.session, user.id)
    if request.method == "POST":
        chosen = next((s for s in active if s.id == request.form.get("session_id")), None)
        if chosen is not None:
            sessions.end_session(db.session, get_bus(), chosen, reason="replaced", now=utcnow())
            return _finish_login(user, request.args.get("next", ""))
        flash(_("Выберите сеанс, который нужно завершить"), "error")
    return render("auth/devices.html", "auth/_device_choice.html", sessions=active)


@bp.post("/logout")
@login_required
def logout():
    device_session = g.get("device_session")
    if device_session is not None:
        sessions.end_session(db.session, get_bus(), device_session, reason="logout", now=utcnow())
        db.session.commit()
    flash(_("Вы вышли из аккаунта"), "ok")
    response = redirect(url_for("auth.login"))
    set_auth_cookies(response, None)
    return response


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("characters.catalogue"))
    form = RegisterForm()
    if request.method == "POST" and registration_closed():
        # The form stays filled in: the person can send it again once the works are over.
        form.email.errors = [_("Регистрация временно закрыта: идут технические работы.")]
        return render("auth/register.html", "auth/_register_form.html", 503, form=form)
    if form.validate_on_submit():
        try:
            result = reg.register(
                db.session,
                get_pii(),
                get_settings(),
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                consent=form.consent.data,
                ip=client_ip(),
                now=utcnow(),
            )
        except reg.RegistrationInvalid as exc:
            attach_errors(form, exc.errors)
        else:
            if result.link:
                _send_confirmation(result.user, result.link)
            else:
                queue_email(
                    db.session,
                    email_of(result.user, get_pii()),
                    _("Попытка регистрации на mehhost chat"),
                    "already_registered",
                    name=result.user.display_name,
                    reset=get_settings().base_url + url_for("auth.reset_request"),
                )
            db.session.commit()
            session["resend_email"] = form.email.data
            return redirect(url_for("auth.check_email"))
    status = 422 if request.method == "POST" else 200
    return render("auth/register.html", "auth/_register_form.html", status, form=form)


@bp.get("/register/check-email")
def check_email():
    form = EmailForm(email=session.get("resend_email", ""))
    return render(
        "auth/check_email.html",
        "auth/_resend_form.html",
        form=form,
        wait=int(RESEND_PAUSE.total_seconds()),
    )


@bp.post("/confirm/resend")
@limiter.limit("10 per hour")
def resend():
    form = EmailForm()
    wait = int(RESEND_PAUSE.total_seconds())
    valid = form.validate_on_submit()
    if valid:
        user = find_by_email(db.session, get_pii(), form.email.data)
        try:
            link = reg.resend_confirmation(db.session, user, utcnow()) if user else None
        except ResendTooSoon:
            link = None  # asked again too soon: nothing is sent, and nothing said about it
        if link:
            _send_confirmation(user, link)
        db.session.commit()
        # The same words and the same pause whether the address is new, unconfirmed or
        # confirmed, and whether an email went out: the answer tells nobody which it is.
        flash(_("Если адрес зарегистрирован и не подтверждён, мы отправили новое письмо"), "ok")
        session["resend_email"] = form.email.data
    status = 200 if valid else 422
    return render("auth/check_email.html", "auth/_resend_form.html", status, form=form, wait=wait)


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        user = reg.confirm_email(db.session, token, utcnow())
    except LinkInvalid as exc:
        return render(
            "auth/link_invalid.html",
            "auth/_link_invalid.html",
            410 if exc.reason != "unknown" else 404,
            error=str(exc),
            form=EmailForm(),
            wait=0,
        )
    db.session.commit()
    flash(_("Email подтверждён. Теперь можно войти."), "ok")
    session["login_email"] = email_of(user, get_pii())  # the sign-in form comes filled in
    return redirect(url_for("auth.login"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            found = reg.request_password_reset(db.session, get_pii(), form.email.data, utcnow())
        except ResendTooSoon:
            found = None  # silently: the answer must not tell whether the address exists
        if found:
            user, raw = found
            queue_email(
                db.session,
                email_of(user, get_pii()),
                _("Сброс пароля на mehhost chat"),
                "reset",
                name=user.display_name,
                link=_link("auth.reset_confirm", raw),
            )
        db.session.commit()
        flash(_("Если адрес зарегистрирован, мы отправили ссылку для сброса пароля"), "ok")
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render("auth/reset_request.html", "auth/_reset_request_form.html", status, form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_confirm(token: str):
    form = NewPasswordForm()
    try:
        if form.validate_on_submit():
            reg.reset_password(
                db.session,
                get_bus(),
                get_settings(),
                get_pii(),
                token,
                form.password.data,
                ip=client_ip(),
                now=utcnow(),
            )
            db.session.commit()
            flash(_("Пароль изменён. Войдите с новым паролем."), "ok")
            response = redirect(url_for("auth.login"))
            set_auth_cookies(response, None)
            return response
        find_link(db.session, token, LinkPurpose.RESET_PASSWORD, utcnow())
    except LinkInvalid as exc:
        return render(
            "auth/reset_request.html",
            "auth/_reset_request_form.html",
            410 if exc.reason != "unknown" else 404,
            form=EmailForm(),
            error=str(exc),
        )
    except reg.RegistrationInvalid as exc:
        attach_errors(form, exc.errors)
    status = 422 if request.method == "POST" else 200
    return render("auth/reset_confirm.html", "auth/_reset_confirm_form.html", status, form=form)


@bp.get("/auth/ping")
def ping():
    """204 after the usual transparent refresh: the chat socket calls this when its access token
    ran out, then reconnects with the new cookie."""
    return ("", 204) if current_user.is_authenticated else ("", 401)
