"""Who may do what with characters."""

from __future__ import annotations

from typing import Any

from webapp.accounts.access import role_required
from webapp.accounts.models import Role

# Managers (and the roles above them) create, edit, version and roll back characters.
managers_only = role_required(Role.MANAGER)


def may_browse_catalogue(user: Any) -> bool:
    # The catalogue is the shop window: anyone may look, chatting needs an account.
    return True
