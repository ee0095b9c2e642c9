"""The audit entry for an action done in this request (views only: it reads the request)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from webapp.accounts.models import User
from webapp.accounts.service import set_blocked
from webapp.auth.web import client_ip
from webapp.extensions import db, get_bus
from webapp.monitoring.logs import audit


def audit_action(event: str, target: str, before: Any, after: Any) -> None:
    user_id = current_user.id if current_user.is_authenticated else None
    audit(
        db.session,
        event,
        user_id=user_id,
        ip=client_ip(),
        device=request.user_agent.string,
        target=target,
        before=before,
        after=after,
    )


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
