"""Who may moderate, and who may report a message."""

from __future__ import annotations

from typing import Any

from webapp.accounts.access import role_required
from webapp.accounts.models import Role

moderators_only = role_required(Role.MODERATOR)


def may_report(user: Any, dialog_owner_id: int) -> bool:
    """Only the person whose dialog it is reports its messages (nobody else can see them)."""
    return bool(user.is_authenticated and user.id == dialog_owner_id and not user.is_blocked)
