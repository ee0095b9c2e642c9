"""Who may do what with the inference link (node API keys: admins only)."""

from __future__ import annotations

from webapp.accounts.access import role_required
from webapp.accounts.models import Role

admin_only = role_required(Role.ADMIN)
