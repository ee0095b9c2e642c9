"""Who may do what with accounts; also the role check every other domain's access.py builds on."""

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
    """Anonymous people go to the login page; signed-in people below `minimum` get 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_role(current_user, minimum):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def may_view_own_profile(user: Any) -> bool:
    return bool(user and user.is_authenticated)


def may_view_metrics(user: Any) -> bool:
    return has_role(user, Role.ADMIN)
