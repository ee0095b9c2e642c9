"""Who may do what in maintenance: moderators request windows and see their history; admins
confirm, reject, cancel, start an emergency stop and handle backups."""

from webapp.accounts.access import role_required
from webapp.accounts.models import Role

admin_only = role_required(Role.ADMIN)
staff_only = role_required(Role.MODERATOR)
