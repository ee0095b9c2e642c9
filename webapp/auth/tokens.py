"""Access and refresh JWTs (HS256). Pure functions: the key and the clock are arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "mehhost"


class TokenInvalid(Exception):
    """Expired, tampered, of the wrong kind or otherwise unusable: the bearer is logged out."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    session_id: str
    kind: str
    jti: str = ""


def issue(key: str, claims: Claims, now: datetime, lifetime: timedelta) -> str:
    payload = {
        "iss": ISSUER,
        "sub": str(claims.user_id),
        "sid": claims.session_id,
        "typ": claims.kind,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if claims.jti:
        payload["jti"] = claims.jti
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def read(key: str, token: str, kind: str, now: datetime) -> Claims:
    """The claims of a valid token of this kind at `now`; TokenInvalid otherwise."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "sid", "typ"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from None
    if payload["typ"] != kind:
        raise TokenInvalid(f"expected a {kind} token")
    if payload["exp"] <= now.timestamp():
        raise TokenInvalid("expired")
    if not str(payload["sub"]).isdigit():
        raise TokenInvalid("bad subject")
    return Claims(int(payload["sub"]), str(payload["sid"]), kind, str(payload.get("jti", "")))
