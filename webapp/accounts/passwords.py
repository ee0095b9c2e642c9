"""bcrypt password hashes and the password policy.

bcrypt reads at most 72 bytes (bcrypt 5 refuses longer input), so the password is first reduced to
a fixed-length SHA-256 digest in base64; long passphrases keep all of their strength.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

import bcrypt
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 8
MAX_LENGTH = 1024
# zxcvbn's list is English-centred; these are the usual Russian ones (ЙЦУКЕН is QWERTY's twin).
COMMON_RUSSIAN = (
    "пароль",
    "пароль123",
    "йцукен",
    "йцукенгш",
    "йцукенгшщз",
    "любовь",
    "наташа",
    "привет",
    "1q2w3e4r",
    "zaq12wsx",
    "qwertyuiop",
    "gfhjkm",  # "пароль" typed on a Latin layout
)


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(_prehash(password), password_hash.encode())


def generate_password() -> str:
    return secrets.token_urlsafe(15)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(COMMON_RUSSIAN)


def password_problem(password: str, email: str = ""):
    """What is wrong with a new password (a message naming the field), or None."""
    if len(password) < MIN_LENGTH:
        return _l("Пароль: не короче %(n)s символов", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Пароль: не длиннее %(n)s символов", n=MAX_LENGTH)
    if password.casefold() in _common_passwords():
        return _l("Пароль: слишком распространённый, его легко угадать")
    if email and password.strip().casefold() == email.strip().casefold():
        return _l("Пароль: не должен совпадать с email")
    return None
