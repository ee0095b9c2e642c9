"""Creating and finding accounts. Plain functions: explicit arguments and a session."""

from __future__ import annotations

import os
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.accounts.errors import EmailTaken, InvalidAccountData
from webapp.accounts.models import Role, User
from webapp.accounts.passwords import generate_password, hash_password
from webapp.db import utcnow
from webapp.monitoring import logs
from webapp.pii import PiiCipher, normalise_email

DISPLAY_NAME_MAX = 50


def validate_email(email: str) -> str:
    email = normalise_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or " " in email:
        raise InvalidAccountData("email", _l("Email: введите адрес вида name@example.ru"))
    return email


def validate_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= DISPLAY_NAME_MAX:
        raise InvalidAccountData(
            "display_name", _l("Имя: от 1 до %(max)s символов", max=DISPLAY_NAME_MAX)
        )
    return name


def email_hash(cipher: PiiCipher, email: str) -> str:
    """The keyed hash an address is found (and kept unique) by."""
    return cipher.lookup_hash(normalise_email(email))


def find_by_email(session: Session, cipher: PiiCipher, email: str) -> User | None:
    return find_by_email_hash(session, email_hash(cipher, email))


def find_by_email_hash(session: Session, digest: str) -> User | None:
    return session.scalar(select(User).where(User.email_hash == digest))


def email_of(user: User, cipher: PiiCipher) -> str:
    return cipher.decrypt(user.email_encrypted)


def create_user(
    session: Session,
    cipher: PiiCipher,
    *,
    email: str,
    password: str,
    display_name: str,
    bcrypt_rounds: int,
    role: Role = Role.USER,
    confirmed: bool = False,
) -> User:
    """Create an account; raise EmailTaken or InvalidAccountData with a message for the person."""
    email = validate_email(email)
    display_name = validate_display_name(display_name)
    if find_by_email(session, cipher, email) is not None:
        raise EmailTaken(_l("Email: этот адрес уже зарегистрирован"))
    user = User(
        email_encrypted=cipher.encrypt(email),
        email_hash=email_hash(cipher, email),
        display_name=display_name,
        password_hash=hash_password(password, bcrypt_rounds),
        role=role,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    session.add(user)
    session.flush()
    return user


def ensure_initial_admin(
    session: Session,
    cipher: PiiCipher,
    *,
    email: str,
    bcrypt_rounds: int,
    credentials_file: Path,
) -> User | None:
    """On first start, create an admin and write its email and password to a mode-600 file."""
    if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    password = generate_password()
    admin = create_user(
        session,
        cipher,
        email=email,
        password=password,
        display_name="Администратор",
        bcrypt_rounds=bcrypt_rounds,
        role=Role.ADMIN,
        confirmed=True,
    )
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"email: {email}\npassword: {password}\n")
    os.chmod(credentials_file, 0o600)
    return admin


def export_data(session: Session, cipher: PiiCipher, user: User, parts: dict | None = None) -> dict:
    """Everything we hold about a person, for the "download my data" button: the account here,
    and `parts` (accounts.privacy.exporters: dialogs with messages, reports...) from the
    domains that hold them."""
    from webapp.auth.models import DeviceSession
    from webapp.monitoring.models import LogEntry

    device_sessions = session.scalars(
        select(DeviceSession).where(DeviceSession.user_id == user.id)
    ).all()
    events = session.scalars(
        select(LogEntry).where(LogEntry.user_id == user.id).order_by(LogEntry.created_at)
    ).all()
    return {
        "account": {
            "email": email_of(user, cipher),
            "display_name": user.display_name,
            "role": user.role,
            "created_at": user.created_at.isoformat(),
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "consent_at": _iso(user.consent_at),
            "consent_version": user.consent_version,
            "locale": user.locale,
            "timezone": user.timezone,
        },
        "devices": [
            {
                "device": s.device,
                "ip": s.ip,
                "first_seen": s.created_at.isoformat(),
                "last_seen": s.last_seen_at.isoformat(),
                "ended_at": _iso(s.ended_at),
            }
            for s in device_sessions
        ],
        "events": [
            {"at": e.created_at.isoformat(), "category": e.category, "event": e.event, "ip": e.ip}
            for e in events
        ],
        **{name: exporter(session, user.id) for name, exporter in (parts or {}).items()},
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def delete_account(session: Session, user: User) -> None:
    """Remove a person: their row and everything hanging off it; audit rows are anonymised.

    Device sessions and links go by ON DELETE CASCADE; log entries keep the event but lose the
    user, IP and device (ON DELETE SET NULL plus the update below).
    """
    from webapp.monitoring.models import LogEntry

    session.execute(
        update(LogEntry).where(LogEntry.user_id == user.id).values(ip=None, device=None, detail="")
    )
    session.delete(user)
    session.flush()


def change_role(session: Session, target: User, role: Role, *, by: User, ip: str) -> None:
    """An admin gives someone another role; nobody changes their own."""
    if target.id == by.id:
        raise InvalidAccountData("role", _l("Роль: свою роль изменить нельзя"))
    if target.role == role:
        return
    if target.role == Role.ADMIN:
        _keep_an_admin(session, target, _l("Роль: это последний администратор"))
    logs.security(
        session, "role_changed", user_id=target.id, ip=ip, by=by.id, old=target.role, new=role
    )
    target.role = role


def _keep_an_admin(session: Session, target: User, message) -> None:
    others = select(User.id).where(
        User.role == Role.ADMIN, User.id != target.id, User.is_blocked.is_(False)
    )
    if session.scalar(others.limit(1)) is None:
        raise InvalidAccountData("role", message)


def set_blocked(
    session: Session, bus, target: User, blocked: bool, *, by: User, ip: str, reason: str = ""
) -> None:
    """Block (every session ends at once) or unblock an account; nobody blocks themselves."""
    from webapp.auth.sessions import end_sessions

    if target.id == by.id:
        raise InvalidAccountData("blocked", _l("Нельзя заблокировать самого себя"))
    if target.is_blocked == blocked:
        return
    if blocked and target.role == Role.ADMIN:
        _keep_an_admin(session, target, _l("Нельзя заблокировать последнего администратора"))
    target.is_blocked = blocked
    event = "user_blocked" if blocked else "user_unblocked"
    logs.security(session, event, user_id=target.id, ip=ip, by=by.id, reason=reason[:200])
    if blocked:
        end_sessions(session, bus, target.id, reason="blocked", now=utcnow())
