"""Who may do what with the inference link."""

from __future__ import annotations

from typing import Any

from webapp.accounts.access import has_role, role_required
from webapp.accounts.models import Role

admin_only = role_required(Role.ADMIN)


def may_see_ai_details(user: Any) -> bool:
    """Model, queue and tokens/s: admins and moderators. Managers see online/offline only."""
    return has_role(user, Role.MODERATOR)


def may_see_ai_status(user: Any) -> bool:
    return has_role(user, Role.MANAGER)
