"""Creating and finding accounts. Plain functions: explicit arguments and a session."""

from __future__ import annotations

import os
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.accounts.errors import EmailTaken, InvalidAccountData
from webapp.accounts.models import Role, User
from webapp.accounts.passwords import generate_password, hash_password
from webapp.db import utcnow
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


def find_by_email(session: Session, cipher: PiiCipher, email: str) -> User | None:
    digest = cipher.lookup_hash(normalise_email(email))
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
        email_hash=cipher.lookup_hash(email),
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
