"""Who may do what in maintenance: backups are the admin's."""

from webapp.accounts.access import role_required
from webapp.accounts.models import Role

admin_only = role_required(Role.ADMIN)
