from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from webapp.auth.errors import AuthError
from webapp.auth.forms import LoginForm
from webapp.auth.service import authenticate
from webapp.extensions import db, get_pii, get_settings, limiter
from webapp.rendering import render, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("characters.catalogue"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(
                db.session,
                get_pii(),
                form.email.data,
                form.password.data,
                bcrypt_rounds=get_settings().bcrypt_rounds,
            )
        except AuthError as exc:
            error = str(exc)
        else:
            login_user(user)
            flash(_("Добро пожаловать, %(name)s!", name=user.display_name), "ok")
            return redirect(safe_next(request.args.get("next"), url_for("characters.catalogue")))
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", "auth/_login_form.html", status, form=form, error=error)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("Вы вышли из аккаунта"), "ok")
    return redirect(url_for("auth.login"))
