from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session

from webapp.accounts.models import User
from webapp.accounts.passwords import check_password, generate_password, hash_password
from webapp.accounts.service import find_by_email
from webapp.auth.errors import AccountBlocked, InvalidCredentials
from webapp.pii import PiiCipher


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    # Checking a password against this for unknown emails makes both paths equally slow.
    return hash_password(generate_password(), rounds)


def authenticate(
    session: Session,
    cipher: PiiCipher,
    email: str,
    password: str,
    *,
    bcrypt_rounds: int,
) -> User:
    """Return the user for these credentials or raise InvalidCredentials / AccountBlocked."""
    user = find_by_email(session, cipher, email)
    if user is None:
        check_password(password, _dummy_hash(bcrypt_rounds))
        raise InvalidCredentials()
    if not check_password(password, user.password_hash):
        raise InvalidCredentials()
    if user.is_blocked:
        raise AccountBlocked()
    return user
