"""Who may do what with accounts; role_required and has_role serve every domain's access.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.extensions import login_manager

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
