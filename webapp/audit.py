"""The audit entry for an action done in this request (views only: it reads the request)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from webapp.extensions import db
from webapp.monitoring.logs import audit


def audit_action(event: str, target: str, before: Any, after: Any) -> None:
    """Who (the signed-in person), from where (IP, device), on what, before and after."""
    user_id = current_user.id if current_user.is_authenticated else None
    audit(
        db.session,
        event,
        user_id=user_id,
        ip=request.remote_addr or "",
        device=request.user_agent.string,
        target=target,
        before=before,
        after=after,
    )
