"""Checking credentials, with lockout after repeated wrong passwords."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import lru_cache

from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.accounts.models import User
from webapp.accounts.passwords import check_password, generate_password, hash_password
from webapp.accounts.service import email_hash, find_by_email_hash
from webapp.auth import throttle
from webapp.auth.errors import AccountBlocked, AccountLocked, EmailNotConfirmed, InvalidCredentials
from webapp.monitoring import logs
from webapp.pii import PiiCipher


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    # Checking a password against this for unknown emails makes both paths equally slow.
    return hash_password(generate_password(), rounds)


def authenticate(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    email: str,
    password: str,
    *,
    ip: str,
    known_accounts: Collection[int] = (),
    now: datetime,
) -> User:
    """The user for these credentials, or an AuthError saying why not.

    Unknown addresses go the same way as known ones (a password check against a dummy hash, the
    same counters, the same words), so neither the answers nor their timing tell which exist.
    `known_accounts` are the ids this device signed in to before (their lock does not apply).
    The caller commits in every case: failed attempts and lockouts must be remembered.
    """
    digest = email_hash(cipher, email)
    user = find_by_email_hash(session, digest)
    known = user is not None and user.id in known_accounts
    keys = throttle.subjects(cipher, digest, ip)
    until = throttle.waiting_until(session, keys, known_device=known, now=now)
    # End the read-only transaction before the deliberately slow hash check (~250 ms at cost 12):
    # on SQLite every transaction holds the write lock, so concurrent logins would queue on it.
    session.commit()
    if until is not None:
        logs.security(session, "login_failed", user_id=user and user.id, ip=ip, reason="waiting")
        raise AccountLocked(until)
    stored = user.password_hash if user is not None else _dummy_hash(settings.bcrypt_rounds)
    if not check_password(password, stored):
        until = throttle.count_failure(session, settings, keys, known_device=known, now=now)
        reason = "wrong_password" if user is not None else "unknown_email"
        logs.security(session, "login_failed", user_id=user and user.id, ip=ip, reason=reason)
        if until is not None:
            logs.security(session, "account_locked", user_id=user and user.id, ip=ip, until=until)
            raise AccountLocked(until)
        raise InvalidCredentials()
    if user is None:  # the dummy hash matches no password; never here
        raise InvalidCredentials()
    throttle.clear(session, keys, now)
    if user.is_blocked:
        raise AccountBlocked()
    if user.email_confirmed_at is None:
        raise EmailNotConfirmed(user.id)
    return user


def unlock(session: Session, user: User, *, by: User, ip: str) -> None:
    """An admin lifts a lockout before it runs out."""
    throttle.unlock(session, user.email_hash)
    logs.security(session, "account_unlocked", user_id=user.id, ip=ip, by=by.id)
