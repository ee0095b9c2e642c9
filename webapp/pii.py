"""Personal data at rest: Fernet encryption and a keyed hash for exact-match lookups."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet


class PiiCipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())
        # A separate key for lookups, derived so that one configured secret serves both purposes.
        self._lookup_key = hmac.new(key.encode(), b"mehhost lookup v1", hashlib.sha256).digest()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()

    def lookup_hash(self, value: str) -> str:
        """Hex HMAC of the normalised value: equal inputs give equal hashes, nothing else leaks."""
        normal = value.strip().casefold()
        return hmac.new(self._lookup_key, normal.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()
