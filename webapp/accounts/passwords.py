"""bcrypt password hashes.

bcrypt reads at most 72 bytes (bcrypt 5 refuses longer input), so the password is first reduced to
a fixed-length SHA-256 digest in base64; long passphrases keep all of their strength.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

import bcrypt


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(_prehash(password), password_hash.encode())


def generate_password() -> str:
    return secrets.token_urlsafe(15)
