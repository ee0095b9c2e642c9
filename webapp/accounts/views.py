from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.accounts.access import may_view_own_profile
from webapp.accounts.service import email_of
from webapp.extensions import get_pii, get_settings
from webapp.i18n import LOCALES, THEMES
from webapp.rendering import render, safe_next

bp = Blueprint("accounts", __name__)

PREFERENCE_COOKIE_AGE = 365 * 24 * 3600


@bp.get("/profile")
@login_required
def profile():
    if not may_view_own_profile(current_user):
        abort(403)
    email = email_of(current_user, get_pii())
    return render("accounts/profile.html", "accounts/_profile.html", email=email)


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
