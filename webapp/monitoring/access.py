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
