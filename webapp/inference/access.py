"""Who may do what with the inference link (node API keys: admins only)."""

from __future__ import annotations

from limits import parse

from webapp.accounts.access import role_required
from webapp.accounts.models import Role
from webapp.extensions import limiter

admin_only = role_required(Role.ADMIN)


# A node presents its key once per (re)connect; ten wrong ones from one address in a quarter of an
# hour is somebody guessing: the rest are refused without looking at the key.
WRONG_KEYS = parse("10/15 minutes")


def may_try_node_key(ip: str) -> bool:
    return not limiter.enabled or limiter.limiter.test(WRONG_KEYS, "node-key", ip)


def count_wrong_node_key(ip: str) -> None:
    if limiter.enabled:
        limiter.limiter.hit(WRONG_KEYS, "node-key", ip)
