"""Registration, email confirmation and password reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.accounts.errors import AccountError, InvalidAccountData
from webapp.accounts.models import User
from webapp.accounts.passwords import hash_password, password_problem
from webapp.accounts.service import (
    create_user,
    find_by_email,
    validate_display_name,
    validate_email,
)
from webapp.auth import throttle
from webapp.auth.links import check_resend, consume_link, find_link, issue_link, retire_links
from webapp.auth.models import LinkPurpose
from webapp.auth.sessions import end_sessions
from webapp.bus import Bus
from webapp.monitoring import logs
from webapp.pii import PiiCipher

PRIVACY_POLICY_VERSION = "2026-11"


class RegistrationInvalid(AccountError):
    """Every problem with the submitted data at once: {field: message}."""

    def __init__(self, errors: dict[str, object]) -> None:
        super().__init__("; ".join(str(message) for message in errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Registration:
    """What to email: a confirmation link for a new account, or a note to an existing one."""

    user: User
    link: str | None  # None: the address was already registered


def registration_problems(email: str, password: str, display_name: str, consent: bool) -> dict:
    errors: dict[str, object] = {}
    for field, check in (("email", validate_email), ("display_name", validate_display_name)):
        try:
            check(email if field == "email" else display_name)
        except InvalidAccountData as exc:
            errors[field] = str(exc)
    problem = password_problem(password, email)
    if problem:
        errors["password"] = problem
    if not consent:
        errors["consent"] = _l("Согласие: без него мы не можем создать аккаунт")
    return errors


def register(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str,
    consent: bool,
    ip: str,
    now: datetime,
) -> Registration:
    """Create an unconfirmed account and its confirmation link; RegistrationInvalid otherwise.

    A taken address is not reported to the visitor (that would reveal who is registered): the
    result has no link and the caller emails the owner instead.
    """
    errors = registration_problems(email, password, display_name, consent)
    if errors:
        raise RegistrationInvalid(errors)
    existing = find_by_email(session, cipher, email)
    if existing is not None:
        # As slow as creating an account (the hash is the cost), so timing tells nothing either.
        hash_password(password, settings.bcrypt_rounds)
        logs.security(session, "register_existing_email", user_id=existing.id, ip=ip)
        return Registration(existing, None)
    user = create_user(
        session,
        cipher,
        email=email,
        password=password,
        display_name=display_name,
        bcrypt_rounds=settings.bcrypt_rounds,
    )
    user.consent_at = now
    user.consent_version = PRIVACY_POLICY_VERSION
    logs.business(session, "registered", user_id=user.id, ip=ip)
    return Registration(user, issue_link(session, user, LinkPurpose.CONFIRM_EMAIL, now))


def resend_confirmation(session: Session, user: User, now: datetime) -> str | None:
    """A new confirmation link (ResendTooSoon if asked too often); None if already confirmed."""
    if user.email_confirmed_at is not None:
        return None
    check_resend(session, user, LinkPurpose.CONFIRM_EMAIL, now)
    return issue_link(session, user, LinkPurpose.CONFIRM_EMAIL, now)


def confirm_email(session: Session, raw: str, now: datetime) -> User:
    user = consume_link(session, raw, LinkPurpose.CONFIRM_EMAIL, now)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
        logs.business(session, "email_confirmed", user_id=user.id)
    return user


def request_password_reset(
    session: Session, cipher: PiiCipher, email: str, now: datetime
) -> tuple[User, str] | None:
    """A reset link for a known address (rate-limited like confirmations); None for unknown."""
    user = find_by_email(session, cipher, email)
    if user is None or user.is_blocked:
        return None
    check_resend(session, user, LinkPurpose.RESET_PASSWORD, now)
    return user, issue_link(session, user, LinkPurpose.RESET_PASSWORD, now)


def reset_password(
    session: Session,
    bus: Bus,
    settings: Settings,
    cipher: PiiCipher,
    raw: str,
    new_password: str,
    *,
    ip: str,
    now: datetime,
) -> User:
    """Set a new password from a reset link; every device is signed out."""
    link = find_link(session, raw, LinkPurpose.RESET_PASSWORD, now)
    user = session.get_one(User, link.user_id)
    problem = password_problem(new_password, cipher.decrypt(user.email_encrypted))
    if problem:  # the link stays usable for a second try
        raise RegistrationInvalid({"password": problem})
    retire_links(session, user.id, LinkPurpose.RESET_PASSWORD, now)  # this one and any older
    user.password_hash = hash_password(new_password, settings.bcrypt_rounds)
    throttle.unlock(session, user.email_hash)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now  # the emailed link proves the address just as well
    end_sessions(session, bus, user.id, reason="password_reset", now=now)
    logs.security(session, "password_reset", user_id=user.id, ip=ip)
    return user
