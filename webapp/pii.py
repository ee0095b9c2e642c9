"""Personal data at rest: AES-256-GCM encryption and a keyed hash for exact-match lookups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"


class PiiDecryptError(ValueError):
    """The ciphertext was altered or encrypted under another key."""


class PiiCipher:
    def __init__(self, key: str) -> None:
        raw = base64.urlsafe_b64decode(key.encode())
        # Two keys derived from the one configured secret: one encrypts, one keys lookup hashes.
        self._aead = AESGCM(hmac.new(raw, b"mehhost pii encryption v1", hashlib.sha256).digest())
        self._lookup_key = hmac.new(raw, b"mehhost lookup v1", hashlib.sha256).digest()

    def encrypt(self, value: str, *, purpose: str = "email") -> bytes:
        """version byte + random nonce + ciphertext; `purpose` is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), purpose.encode())
        return FORMAT_VERSION + nonce + sealed

    def decrypt(self, token: bytes, *, purpose: str = "email") -> str:
        if token[:1] != FORMAT_VERSION:
            raise PiiDecryptError("unknown ciphertext format")
        nonce, sealed = token[1 : 1 + NONCE_BYTES], token[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, purpose.encode()).decode()
        except InvalidTag:
            raise PiiDecryptError("ciphertext does not verify") from None

    def lookup_hash(self, value: str) -> str:
        """Hex HMAC of the normalised value: equal inputs give equal hashes, nothing else leaks."""
        normal = value.strip().casefold()
        return hmac.new(self._lookup_key, normal.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# The deployment's one cipher, for columns that encrypt themselves (Encrypted below): the app
# factory sets it from the configured key before any session opens.
_active: PiiCipher | None = None


def use_cipher(cipher: PiiCipher) -> None:
    global _active
    _active = cipher


def active_cipher() -> PiiCipher:
    if _active is None:
        raise RuntimeError("no PII cipher: create_app() sets it from PII_ENCRYPTION_KEY")
    return _active


class Encrypted(TypeDecorator):
    """A text column stored AES-GCM encrypted (random nonce, `purpose` bound in): reads and
    writes see plain text, the database and its backups only ciphertext. It cannot be compared
    or sorted in SQL; a column that must be found keeps a lookup_hash beside it."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else active_cipher().encrypt(str(value), purpose=self.purpose)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return (
            None if value is None else active_cipher().decrypt(bytes(value), purpose=self.purpose)
        )
