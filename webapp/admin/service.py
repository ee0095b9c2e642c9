"""Finding users for the admin table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.accounts.models import Role, User, name_hash
from webapp.accounts.service import email_hash
from webapp.auth import throttle
from webapp.pii import PiiCipher
from webapp.rendering import drop_empty

PAGE_SIZE = 50
STATES = ("active", "blocked", "locked", "unconfirmed")


@dataclass(frozen=True)
class UserQuery:
    text: str = ""
    role: str = ""
    state: str = ""
    page: int = 1

    def link(self, **changes: Any) -> dict[str, Any]:
        """URL arguments for this search with some changed (the pager's page)."""
        values = {"q": self.text, "role": self.role, "state": self.state, "page": self.page}
        return drop_empty({**values, **changes})


def search_users(
    session: Session, cipher: PiiCipher, query: UserQuery, now: datetime
) -> tuple[list[User], int]:
    """One page of users matching the filters, newest first, and the total count.

    An address is matched exactly through its keyed hash (emails are encrypted, so no LIKE);
    anything else matches a whole display name, any case (names are encrypted too).
    """
    statement = select(User)
    text = query.text.strip()
    if "@" in text:
        statement = statement.where(User.email_hash == email_hash(cipher, text))
    elif text:
        # Names are encrypted: found whole (any case), through their keyed hash.
        statement = statement.where(User.display_name_hash == name_hash(cipher, text))
    if query.role in {role.value for role in Role}:
        statement = statement.where(User.role == query.role)
    if query.state == "blocked":
        statement = statement.where(User.is_blocked.is_(True))
    elif query.state == "locked":
        statement = statement.where(User.email_hash.in_(throttle.locked_accounts(now)))
    elif query.state == "unconfirmed":
        statement = statement.where(User.email_confirmed_at.is_(None))
    elif query.state == "active":
        statement = statement.where(User.is_blocked.is_(False))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = max(1, query.page)
    rows = session.scalars(
        statement.order_by(User.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return list(rows), total
