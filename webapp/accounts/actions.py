"""Staff actions on an account from a page (admins' and moderators' alike), audited."""

from __future__ import annotations

from flask_login import current_user

from webapp.accounts.models import User
from webapp.accounts.service import set_blocked
from webapp.audit import audit_action
from webapp.auth.cookies import client_ip
from webapp.extensions import db, get_bus


def block_audited(target: User, blocked: bool, reason: str) -> None:
    """Block or unblock `target` as the signed-in admin or moderator and audit it; an
    AccountError (blocking oneself) passes up before anything is written."""
    before = {"blocked": target.is_blocked}
    set_blocked(
        db.session, get_bus(), target, blocked, by=current_user, ip=client_ip(), reason=reason
    )
    audit_action(
        "user_blocked" if blocked else "user_unblocked",
        f"user:{target.id}",
        before,
        {"blocked": target.is_blocked, "reason": reason},
    )
