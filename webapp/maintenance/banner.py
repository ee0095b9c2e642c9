"""Maintenance as every page sees it: the banner and the modal in base.html (a function the
template calls, so fragments and emails never pay for it) and the sign-in block."""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.db import utcnow
from webapp.extensions import db, get_bus
from webapp.maintenance import notice

STAFF = (Role.ADMIN, Role.MODERATOR)


def current_notice():
    """The nearest window's notice for this page (a rehearsal shows to the staff alone)."""
    if not has_request_context():
        return None
    if "maintenance_notice" not in g:
        found = notice.current(db.session, get_bus(), utcnow())
        staff = current_user.is_authenticated and current_user.role in (Role.ADMIN, Role.MODERATOR)
        g.maintenance_notice = (
            None if found and found.window.kind == "test" and not staff else found
        )
    return g.maintenance_notice


def logins_blocked() -> bool:
    found = current_notice()
    return bool(found and found.logins_blocked)


def registration_closed() -> bool:
    found = current_notice()
    return bool(found and found.registration_closed)


def init_app(app: Flask) -> None:
    app.add_template_global(current_notice, "maintenance_notice")
