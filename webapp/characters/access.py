"""Who may do what with characters."""

from __future__ import annotations

from typing import Any


def may_browse_catalogue(user: Any) -> bool:
    # The catalogue is the shop window: anyone may look, chatting needs an account.
    return True
