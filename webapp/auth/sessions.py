"""Device sessions and their tokens: start, refresh (rotation + reuse detection), end."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.accounts.models import User
from webapp.auth import tokens
from webapp.auth.errors import DeviceLimitReached, RefreshReused
from webapp.auth.models import DeviceSession
from webapp.auth.tokens import Claims, TokenInvalid
from webapp.bus import Bus
from webapp.monitoring import logs

ACCESS, REFRESH = "access", "refresh"
SESSION_EVENTS = "auth:sessions"  # bus channel: {"event": "ended", "session_id", "user_id"}
REUSE_GRACE = timedelta(seconds=30)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str | None  # None: keep the refresh cookie the browser has


def active_sessions(session: Session, user_id: int) -> list[DeviceSession]:
    return list(
        session.scalars(
            select(DeviceSession)
            .where(DeviceSession.user_id == user_id, DeviceSession.ended_at.is_(None))
            .order_by(DeviceSession.last_seen_at.desc())
        )
    )


def start_session(
    session: Session, settings: Settings, user: User, *, device: str, ip: str, now: datetime
) -> tuple[DeviceSession, Tokens]:
    """Sign a user in on a new device; DeviceLimitReached when max_devices are already active."""
    if len(active_sessions(session, user.id)) >= settings.max_devices:
        raise DeviceLimitReached(user.id)
    device_session = DeviceSession(
        id=secrets.token_hex(16),
        user_id=user.id,
        refresh_jti="",
        device=device[:120],
        ip=ip[:45],
        created_at=now,
        last_seen_at=now,
    )
    session.add(device_session)
    tokens_ = _rotate(settings, device_session, now)
    logs.security(session, "login", user_id=user.id, ip=ip, device=device)
    return device_session, tokens_


def _rotate(settings: Settings, device_session: DeviceSession, now: datetime) -> Tokens:
    if device_session.refresh_jti:
        device_session.previous_jti = device_session.refresh_jti
        device_session.rotated_at = now
    device_session.refresh_jti = secrets.token_hex(16)
    refresh = tokens.issue(
        settings.jwt_signing_key,
        Claims(device_session.user_id, device_session.id, REFRESH, device_session.refresh_jti),
        now,
        timedelta(days=settings.refresh_token_days),
    )
    return Tokens(_access_token(settings, device_session, now), refresh)


def _access_token(settings: Settings, device_session: DeviceSession, now: datetime) -> str:
    return tokens.issue(
        settings.jwt_signing_key,
        Claims(device_session.user_id, device_session.id, ACCESS),
        now,
        timedelta(minutes=settings.access_token_minutes),
    )


def _load_active(session: Session, claims: Claims) -> tuple[User, DeviceSession] | None:
    row = session.execute(
        select(User, DeviceSession)
        .join(DeviceSession, DeviceSession.user_id == User.id)
        .where(
            DeviceSession.id == claims.session_id,
            DeviceSession.ended_at.is_(None),
            User.id == claims.user_id,
            User.is_blocked.is_(False),
        )
    ).first()
    return (row[0], row[1]) if row else None


def authenticate_access(
    session: Session, settings: Settings, token: str, now: datetime
) -> tuple[User, DeviceSession]:
    """The user and device behind a valid access token of a live session (one query)."""
    found = _load_active(session, tokens.read(settings.jwt_signing_key, token, ACCESS, now))
    if found is None:
        raise TokenInvalid("session ended")
    user, device_session = found
    if now - device_session.last_seen_at > TOUCH_EVERY:
        device_session.last_seen_at = now
    return user, device_session


def refresh(
    session: Session, settings: Settings, bus: Bus, token: str, *, ip: str, now: datetime
) -> tuple[User, DeviceSession, Tokens]:
    """Rotate a refresh token. A reused rotated token ends its session: RefreshReused."""
    claims = tokens.read(settings.jwt_signing_key, token, REFRESH, now)
    found = _load_active(session, claims)
    if found is None:
        raise TokenInvalid("session ended")
    user, device_session = found
    device_session.last_seen_at = now
    device_session.ip = ip[:45]
    if claims.jti == device_session.refresh_jti:
        return user, device_session, _rotate(settings, device_session, now)
    rotated_recently = device_session.rotated_at and now - device_session.rotated_at < REUSE_GRACE
    if claims.jti == device_session.previous_jti and rotated_recently:
        # A concurrent request already rotated this token: let this one through with a fresh
        # access token and leave the new refresh cookie, set by that request, alone.
        return user, device_session, Tokens(_access_token(settings, device_session, now), None)
    end_session(session, bus, device_session, reason="token_reuse", now=now)
    logs.security(
        session, "refresh_token_reuse", user_id=user.id, ip=ip, device_session=claims.session_id
    )
    raise RefreshReused()


def end_session(
    session: Session, bus: Bus, device_session: DeviceSession, *, reason: str, now: datetime
) -> None:
    """End one device session; its WebSockets hear about it on the bus and close."""
    if device_session.ended_at is not None:
        return
    device_session.ended_at = now
    device_session.end_reason = reason
    bus.publish(
        SESSION_EVENTS,
        {"event": "ended", "session_id": device_session.id, "user_id": device_session.user_id},
    )


def end_sessions(
    session: Session,
    bus: Bus,
    user_id: int,
    *,
    reason: str,
    now: datetime,
    keep: str | None = None,
) -> int:
    """End every active session of a user except `keep`; return how many ended."""
    ended = 0
    for device_session in active_sessions(session, user_id):
        if device_session.id != keep:
            end_session(session, bus, device_session, reason=reason, now=now)
            ended += 1
    return ended


def end_inactive_sessions(session: Session, bus: Bus, settings: Settings, now: datetime) -> int:
    """End sessions not seen for session_inactive_days (the Huey periodic task calls this)."""
    cutoff = now - timedelta(days=settings.session_inactive_days)
    stale = list(
        session.scalars(
            select(DeviceSession).where(
                DeviceSession.ended_at.is_(None), DeviceSession.last_seen_at < cutoff
            )
        )
    )
    for device_session in stale:
        end_session(session, bus, device_session, reason="inactive", now=now)
    return len(stale)
