"""Who may see monitoring data."""

from __future__ import annotations

import ipaddress
from typing import Any

from webapp.accounts.access import has_role
from webapp.accounts.models import Role


def may_scrape_metrics(user: Any, remote_addr: str | None, forwarded: bool) -> bool:
    """Admins anywhere; otherwise only a scraper on this host talking to us directly."""
    if has_role(user, Role.ADMIN):
        return True
    if forwarded or not remote_addr:
        return False
    try:
        return ipaddress.ip_address(remote_addr).is_loopback
    except ValueError:
        return False


def may_see_resources(user: Any) -> bool:
    """CPU/GPU/RAM widgets, graphs and alerts are for admins."""
    return has_role(user, Role.ADMIN)


def ai_status_detail(user: Any) -> str:
    """How much of the AI status a role sees: full (moderators, admins), basic (managers), none."""
    if has_role(user, Role.MODERATOR):
        return "full"
    if has_role(user, Role.MANAGER):
        return "basic"
    return "none"
