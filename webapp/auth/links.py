"""Single-use emailed links (email confirmation, password reset) and the resend rules."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.accounts.models import User
from webapp.auth.errors import LinkInvalid, ResendTooSoon
from webapp.auth.models import LinkPurpose, LinkToken

LIFETIMES = {
    LinkPurpose.CONFIRM_EMAIL: timedelta(hours=24),
    LinkPurpose.RESET_PASSWORD: timedelta(hours=1),
}
RESEND_PAUSE = timedelta(seconds=60)
RESEND_WINDOW = timedelta(hours=1)
RESENDS_PER_WINDOW = 5


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_link(session: Session, user: User, purpose: LinkPurpose, now: datetime) -> str:
    """A new link secret for the user; only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    session.add(
        LinkToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_digest(raw),
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return raw


def find_link(session: Session, raw: str, purpose: LinkPurpose, now: datetime) -> LinkToken:
    """The usable link for this secret; LinkInvalid says if it is unknown, expired or used."""
    link = session.scalar(
        select(LinkToken).where(LinkToken.token_hash == _digest(raw), LinkToken.purpose == purpose)
    )
    if link is None:
        raise LinkInvalid("unknown")
    if link.used_at is not None:
        raise LinkInvalid("used")
    if link.expires_at <= now:
        raise LinkInvalid("expired")
    return link


def consume_link(session: Session, raw: str, purpose: LinkPurpose, now: datetime) -> User:
    """Use a link once and return its user."""
    link = find_link(session, raw, purpose, now)
    link.used_at = now
    return session.get_one(User, link.user_id)


def retire_links(session: Session, user_id: int, purpose: LinkPurpose, now: datetime) -> None:
    """Every unused link of this purpose stops working (a newer one was used, the password
    changed): an old reset email left in a mailbox cannot set the password again."""
    session.execute(
        update(LinkToken)
        .where(
            LinkToken.user_id == user_id,
            LinkToken.purpose == purpose,
            LinkToken.used_at.is_(None),
        )
        .values(used_at=now)
    )


def check_resend(session: Session, user: User, purpose: LinkPurpose, now: datetime) -> None:
    """Raise ResendTooSoon unless 60 s passed since the last link and fewer than 5 this hour."""
    recent = list(
        session.scalars(
            select(LinkToken.created_at)
            .where(
                LinkToken.user_id == user.id,
                LinkToken.purpose == purpose,
                LinkToken.created_at > now - RESEND_WINDOW,
            )
            .order_by(LinkToken.created_at.desc())
        )
    )
    waits = []
    if recent:
        waits.append(recent[0] + RESEND_PAUSE - now)
    if len(recent) >= RESENDS_PER_WINDOW:
        waits.append(recent[RESENDS_PER_WINDOW - 1] + RESEND_WINDOW - now)
    wait = max(waits, default=timedelta(0))
    if wait > timedelta(0):
        raise ResendTooSoon(int(wait.total_seconds()) + 1)
