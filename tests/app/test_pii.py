import base64
import os

import pytest

from webapp.pii import PiiCipher, PiiDecryptError

KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_and_fresh_nonce_each_time():
    cipher = PiiCipher(KEY)
    first, second = cipher.encrypt("anna@example.ru"), cipher.encrypt("anna@example.ru")
    assert first != second
    assert b"anna" not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == "anna@example.ru"


def test_tampering_or_another_key_or_purpose_is_detected():
    cipher = PiiCipher(KEY)
    token = bytearray(cipher.encrypt("anna@example.ru"))
    token[-1] ^= 1
    with pytest.raises(PiiDecryptError):
        cipher.decrypt(bytes(token))
    with pytest.raises(PiiDecryptError):
        PiiCipher(base64.urlsafe_b64encode(os.urandom(32)).decode()).decrypt(cipher.encrypt("x"))
    with pytest.raises(PiiDecryptError):
        cipher.decrypt(cipher.encrypt("x", purpose="email"), purpose="phone")


def test_lookup_hash_is_keyed_and_normalised():
    cipher = PiiCipher(KEY)
    assert cipher.lookup_hash(" Anna@Example.RU ") == cipher.lookup_hash("anna@example.ru")
    other = PiiCipher(base64.urlsafe_b64encode(os.urandom(32)).decode())
    assert other.lookup_hash("anna@example.ru") != cipher.lookup_hash("anna@example.ru")
