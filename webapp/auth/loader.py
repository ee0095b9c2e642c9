"""How flask-login finds the current user."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Войдите, чтобы продолжить")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None
