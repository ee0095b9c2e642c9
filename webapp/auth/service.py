"""Checking credentials, with lockout after repeated wrong passwords."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.accounts.models import User
from webapp.accounts.passwords import check_password, generate_password, hash_password
from webapp.accounts.service import find_by_email
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
    now: datetime,
) -> User:
    """The user for these credentials, or an AuthError saying why not.

    The caller commits in every case: failed attempts and lockouts must be remembered.
    """
    user = find_by_email(session, cipher, email)
    # End the read-only transaction before the deliberately slow hash check (~250 ms at cost 12):
    # on SQLite every transaction holds the write lock, so concurrent logins would queue on it.
    session.commit()
    if user is None:
        check_password(password, _dummy_hash(settings.bcrypt_rounds))
        logs.security(session, "login_failed", ip=ip, reason="unknown_email")
        raise InvalidCredentials()
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(user.locked_until)
    if not check_password(password, user.password_hash):
        _count_failure(session, settings, user, ip=ip, now=now)
    user.failed_logins = 0
    user.locked_until = None
    if user.is_blocked:
        raise AccountBlocked()
    if user.email_confirmed_at is None:
        raise EmailNotConfirmed(user.id)
    return user


def _count_failure(session: Session, settings: Settings, user: User, *, ip: str, now: datetime):
    user.failed_logins += 1
    if user.failed_logins < settings.lockout_attempts:
        logs.security(session, "login_failed", user_id=user.id, ip=ip, reason="wrong_password")
        raise InvalidCredentials()
    user.failed_logins = 0
    user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
    logs.security(session, "account_locked", user_id=user.id, ip=ip, until=user.locked_until)
    raise AccountLocked(user.locked_until)


def unlock(session: Session, user: User, *, by: User, ip: str) -> None:
    """An admin lifts a lockout before it runs out."""
    user.locked_until = None
    user.failed_logins = 0
    logs.security(session, "account_unlocked", user_id=user.id, ip=ip, by=by.id)
