"""Who may do what with accounts; role_required and has_role serve every domain's access.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

from webapp.accounts.models import Role, User
from webapp.audit import audit_action
from webapp.extensions import db, login_manager

View = TypeVar("View", bound=Callable[..., Any])


def has_role(user: Any, minimum: Role) -> bool:
    return bool(user and user.is_authenticated and Role(user.role).at_least(minimum))


def role_required(minimum: Role) -> Callable[[View], View]:
    """Anonymous people go to the login page; signed-in people below `minimum` get 403.

    The view keeps `minimum_role`, so a test can walk the URL map and try every lower role.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_role(current_user, minimum):
                abort(403)
            return view(*args, **kwargs)

        wrapper.minimum_role = minimum  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def may_manage_device(user: Any, device_session: Any) -> bool:
    """Only the owner ends a device session from the profile (admins block the account instead)."""
    return bool(user.is_authenticated and device_session.user_id == user.id)


def outranks(actor: Any, target: Any) -> bool:
    """An actor acts on an account (block, unblock, role, lockout, sessions) only from strictly
    above it: nobody acts on their own account or on an equal, so the last admin stays one."""
    return Role(actor.role).rank > Role(target.role).rank


def may_grant(actor: Any, role: Role) -> bool:
    """A role is given only by someone who holds it or a higher one."""
    return Role(role).rank <= Role(actor.role).rank


def may_override(actor: Any, decided_rank: int | None) -> bool:
    """A moderation decision (a hidden character) is undone only by its own rank or a higher one."""
    return decided_rank is None or Role(actor.role).rank >= decided_rank


def acts_on_account(view: View) -> View:
    """For a route whose `user_id` is the account acted on: 404 for no such account, 403 (audited,
    with IP and device) when the signed-in actor does not outrank it. Put it under role_required.

    The view keeps `acts_on_account`, so the rank test walks every such route × actor × target.
    """

    @wraps(view)
    def wrapper(*args: Any, user_id: int, **kwargs: Any) -> Any:
        target = db.session.get(User, user_id)
        if target is None:
            abort(404)
        if not outranks(current_user, target):
            refuse(f"user:{target.id}", {"role": target.role})
        return view(*args, user_id=user_id, **kwargs)

    wrapper.acts_on_account = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def refuse(target: str, state: Any) -> None:
    """Audit a refused action on `target` (who, from where, what was tried) and answer 403."""
    tried = {"route": request.endpoint, "form": sorted(request.form.keys() - {"csrf_token"})}
    audit_action("action_refused", target, state, tried)
    db.session.commit()
    abort(403)
