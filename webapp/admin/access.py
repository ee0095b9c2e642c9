"""Admin pages are for admins only; the checks live in accounts.access (role_required)."""

from webapp.accounts.access import role_required
from webapp.accounts.models import Role

admin_only = role_required(Role.ADMIN)
