"""The second factor: time-based one-time codes (RFC 6238, any authenticator app), enrolled
with a QR code in the profile. Secrets are encrypted at rest with the PII key; a code's time
step is remembered, so a code seen once (over a shoulder, in a log) cannot be used again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
import segno
from markupsafe import Markup

from webapp.accounts.models import User
from webapp.pii import PiiCipher

ISSUER = "mehhost chat"
PURPOSE = "totp"
STEP_S = 30
DRIFT_STEPS = 1  # a code from the step before or after still counts (clock drift)
# A million codes, three valid at a time: five wrong tries per quarter hour and account (every
# use counted together) leave a guesser about one chance in 40,000 a day.
MAX_WRONG = 5
WRONG_WINDOW = timedelta(minutes=15)


class TooManyCodes(Exception):
    """Five wrong codes in the window: no code is checked until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until


def _check_allowed(user: User, now: datetime) -> None:
    since = user.totp_failed_since
    if since is not None and now - since >= WRONG_WINDOW:
        user.totp_failures, user.totp_failed_since = 0, None
    elif since is not None and user.totp_failures >= MAX_WRONG:
        raise TooManyCodes(since + WRONG_WINDOW)


def _count_wrong(user: User, now: datetime) -> None:
    if user.totp_failed_since is None:
        user.totp_failed_since = now
    user.totp_failures = (user.totp_failures or 0) + 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The enrolment QR code as inline SVG (no image request, works offline)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", border=2)
    return Markup(svg)  # noqa: S704 - segno's own markup around our URI, nothing user-given


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret_encrypted is not None


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // STEP_S
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if totp.at(candidate * STEP_S) == code:
            return candidate
    return None


def enable(user: User, cipher: PiiCipher, secret: str, code: str, now: datetime) -> bool:
    """Turn the factor on once the person shows a code from the app they enrolled.
    Raises TooManyCodes (nothing checked) after MAX_WRONG wrong codes in the window."""
    _check_allowed(user, now)
    step = _matching_step(secret, code, now)
    if step is None:
        _count_wrong(user, now)
        return False
    user.totp_secret_encrypted = cipher.encrypt(secret, purpose=PURPOSE)
    user.totp_enabled_at, user.totp_last_step = now, step
    return True


def verify(user: User, cipher: PiiCipher, code: str, now: datetime) -> bool:
    """True for a fresh, correct code (and remember its step); False otherwise. Raises
    TooManyCodes (nothing checked) after MAX_WRONG wrong codes in the window."""
    if not enabled(user):
        return False
    _check_allowed(user, now)
    secret = cipher.decrypt(user.totp_secret_encrypted, purpose=PURPOSE)
    step = _matching_step(secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        _count_wrong(user, now)
        return False
    user.totp_last_step = step
    user.totp_failures, user.totp_failed_since = 0, None
    return True


def disable(user: User) -> None:
    user.totp_secret_encrypted = user.totp_enabled_at = user.totp_last_step = None
