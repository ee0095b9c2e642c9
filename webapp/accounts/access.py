"""Who may do what with accounts; has_role is the check every other domain's access.py builds on."""

from __future__ import annotations

from typing import Any

from webapp.accounts.models import Role


def has_role(user: Any, minimum: Role) -> bool:
    return bool(user and user.is_authenticated and Role(user.role).at_least(minimum))


def may_view_own_profile(user: Any) -> bool:
    return bool(user and user.is_authenticated)
