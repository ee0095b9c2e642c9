"""Extension instances, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from config.settings import Settings
from webapp.bus import Bus
from webapp.db import Database
from webapp.pii import PiiCipher
from webapp.websocket import GuardedSock

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
sock = GuardedSock()
babel = Babel()


def get_bus() -> Bus:
    return current_app.extensions["mehhost.bus"]


def get_settings() -> Settings:
    return current_app.extensions["mehhost.settings"]


def get_pii() -> PiiCipher:
    return current_app.extensions["mehhost.pii"]
