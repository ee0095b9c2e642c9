from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.accounts.access import may_manage_device
from webapp.accounts.forms import DeleteAccountForm
from webapp.accounts.privacy import erasers as privacy_erasers
from webapp.accounts.privacy import exporters
from webapp.accounts.service import delete_account, email_of, export_data
from webapp.auth import sessions, totp
from webapp.auth.cookies import client_ip, set_auth_cookies, too_many_codes
from webapp.auth.models import DeviceSession
from webapp.auth.registration import PRIVACY_POLICY_VERSION
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_pii, get_settings
from webapp.i18n import LOCALES, THEMES
from webapp.maintenance import notice as maintenance_notice
from webapp.monitoring import logs
from webapp.notify.outbox import queue_email
from webapp.pii import normalise_email
from webapp.rendering import render, safe_next

bp = Blueprint("accounts", __name__)

PREFERENCE_COOKIE_AGE = 365 * 24 * 3600


@bp.get("/profile")
@login_required
def profile():
    device_sessions = sessions.active_sessions(db.session, current_user.id)
    return render(
        "accounts/profile.html",
        "accounts/_devices.html",
        email=email_of(current_user, get_pii()),
        sessions=device_sessions,
        current_session=g.get("device_session"),
        maintenance=maintenance_notice.next_window(db.session, get_bus(), utcnow()),
    )


@bp.route("/profile/totp", methods=["GET", "POST"])
@login_required
def totp_setup():
    """Enrol: a fresh secret as a QR code; the first code from the app turns the factor on."""
    if totp.enabled(current_user):
        return render_template("accounts/totp.html", enabled=True, error=None)
    secret = session.get("totp_pending") or totp.new_secret()
    session["totp_pending"] = secret
    error = None
    if request.method == "POST":
        try:
            code = request.form.get("code", "")
            if totp.enable(current_user, get_pii(), secret, code, utcnow()):
                session.pop("totp_pending", None)
                logs.security(db.session, "totp_enabled", user_id=current_user.id, ip=client_ip())
                db.session.commit()
                flash(_("Двухфакторная защита включена"), "ok")
                return redirect(url_for("accounts.profile"))
            error = _("Код: не подходит. Введите 6 цифр, которые показывает приложение сейчас.")
        except totp.TooManyCodes as exc:
            error = too_many_codes(exc)
        logs.security(db.session, "totp_failed", user_id=current_user.id, ip=client_ip())
        db.session.commit()
    uri = totp.provisioning_uri(secret, email_of(current_user, get_pii()))
    return render_template(
        "accounts/totp.html",
        enabled=False,
        secret=secret,
        qr=totp.qr_svg(uri),
        error=error,
    ), (422 if error else 200)


@bp.post("/profile/totp/disable")
@login_required
def totp_disable():
    try:
        verified = totp.verify(current_user, get_pii(), request.form.get("code", ""), utcnow())
        error = _("Код: не подходит, защита не выключена.")
    except totp.TooManyCodes as exc:
        verified, error = False, too_many_codes(exc)
    if not verified:
        logs.security(db.session, "totp_failed", user_id=current_user.id, ip=client_ip())
        db.session.commit()
        flash(error, "error")
        return redirect(url_for("accounts.totp_setup"))
    totp.disable(current_user)
    logs.security(db.session, "totp_disabled", user_id=current_user.id, ip=client_ip())
    db.session.commit()
    flash(_("Двухфакторная защита выключена"), "ok")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/maintenance-emails")
@login_required
def maintenance_emails():
    enabled = request.form.get("enabled") == "1"
    before = current_user.maintenance_emails
    current_user.maintenance_emails = enabled
    logs.business(
        db.session, "maintenance_emails", user_id=current_user.id, before=before, after=enabled
    )
    db.session.commit()
    flash(
        _("Письма об обслуживании включены") if enabled else _("Письма об обслуживании выключены"),
        "ok",
    )
    return redirect(url_for("accounts.profile") + "#notices")


def _own_session(session_id: str) -> DeviceSession:
    device_session = db.session.get(DeviceSession, session_id)
    if device_session is None or not may_manage_device(current_user, device_session):
        abort(404)  # someone else's session does not exist, as far as this person can tell
    return device_session


@bp.post("/profile/devices/<session_id>/end")
@login_required
def end_device(session_id: str):
    device_session = _own_session(session_id)
    sessions.end_session(
        db.session, get_bus(), device_session, reason="ended_by_user", now=utcnow()
    )
    logs.security(db.session, "session_ended", user_id=current_user.id, ip=client_ip())
    db.session.commit()
    flash(_("Сеанс завершён"), "ok")
    if g.get("device_session") is not None and device_session.id == g.device_session.id:
        response = redirect(url_for("auth.login"))
        set_auth_cookies(response, None)
        return response
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/devices/end-others")
@login_required
def end_other_devices():
    keep = g.device_session.id if g.get("device_session") is not None else None
    ended = sessions.end_sessions(
        db.session, get_bus(), current_user.id, reason="ended_by_user", now=utcnow(), keep=keep
    )
    logs.security(db.session, "other_sessions_ended", user_id=current_user.id, count=ended)
    db.session.commit()
    flash(_("Завершено сеансов: %(n)s", n=ended), "ok")
    return redirect(url_for("accounts.profile"))


@bp.get("/profile/export")
@login_required
def export():
    """Everything about the person: JSON to keep, or (?format=html) a page to read."""
    data = export_data(db.session, get_pii(), current_user, exporters(current_app))
    logs.security(db.session, "data_exported", user_id=current_user.id, ip=client_ip())
    db.session.commit()
    if request.args.get("format") == "html":
        return render_template("accounts/export.html", data=data)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="mehhost-my-data.json"'},
    )


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
def delete():
    form = DeleteAccountForm()
    email = email_of(current_user, get_pii())
    if form.validate_on_submit():
        if normalise_email(form.email.data) != email:
            form.email.errors = [_("Email: введите адрес вашего аккаунта")]
        else:
            name = current_user.display_name
            sessions.end_sessions(
                db.session, get_bus(), current_user.id, reason="account_deleted", now=utcnow()
            )
            for erase in privacy_erasers(current_app):
                erase(db.session, current_user.id)
            delete_account(db.session, current_user)
            logs.security(db.session, "account_deleted")
            queue_email(db.session, email, _("Аккаунт удалён"), "account_deleted", name=name)
            db.session.commit()
            flash(_("Аккаунт и личные данные удалены"), "ok")
            response = redirect(url_for("characters.catalogue"))
            set_auth_cookies(response, None)
            return response
    status = 422 if request.method == "POST" else 200
    return render("accounts/delete.html", "accounts/_delete_form.html", status, form=form)


@bp.get("/privacy")
def privacy():
    return render("accounts/privacy.html", "accounts/_privacy.html", version=PRIVACY_POLICY_VERSION)


@bp.post("/tour/done")
@login_required
def tour_done():
    """The first-sign-in tour is closed for this account, on every device."""
    current_user.tour_done_at = utcnow()
    db.session.commit()
    return redirect(url_for("characters.catalogue"))


@bp.post("/prefs/<name>")
def set_preference(name: str):
    """Theme and language live in cookies so they work before login and without JavaScript."""
    allowed = {"theme": THEMES, "lang": LOCALES}.get(name)
    value = request.form.get("value", "")
    if allowed is None or value not in allowed:
        abort(400)
    response = redirect(safe_next(request.form.get("next"), url_for("characters.catalogue")))
    response.set_cookie(
        name,
        value,
        max_age=PREFERENCE_COOKIE_AGE,
        samesite="Lax",
        secure=get_settings().production,
        httponly=True,
    )
    return response
