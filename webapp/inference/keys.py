"""pc_node API keys: several may be active; an admin creates (shown once) and revokes them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.inference.models import NodeKey

KEY_PREFIX = "mhn_"
NAME_MAX = 80


class NodeKeyInvalid(ValueError):
    pass


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(session: Session, name: str, now: datetime) -> tuple[NodeKey, str]:
    """A new key; the raw secret is returned once and never stored."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise NodeKeyInvalid(_l("Название: от 1 до %(n)s символов", n=NAME_MAX))
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = NodeKey(name=name, prefix=raw[:12], secret_hash=_digest(raw), created_at=now)
    session.add(key)
    session.flush()
    return key, raw


def verify_key(session: Session, raw: str, now: datetime) -> NodeKey | None:
    """The active key matching `raw`, or None."""
    if not raw.startswith(KEY_PREFIX):
        return None
    key = session.scalar(select(NodeKey).where(NodeKey.secret_hash == _digest(raw)))
    if key is None or not key.active or not hmac.compare_digest(key.secret_hash, _digest(raw)):
        return None
    key.last_used_at = now
    return key


def revoke_key(session: Session, key: NodeKey, now: datetime) -> None:
    if key.revoked_at is None:
        key.revoked_at = now


def list_keys(session: Session) -> list[NodeKey]:
    return list(
        session.scalars(select(NodeKey).order_by(NodeKey.revoked_at.is_not(None), NodeKey.id))
    )
