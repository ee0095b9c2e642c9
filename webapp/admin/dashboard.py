"""Numbers for the admin dashboard: who is here now, and the alerts that need someone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.accounts.models import User
from webapp.auth.models import DeviceSession
from webapp.bus import Bus
from webapp.monitoring import presence
from webapp.monitoring.models import Alert, AlertDelivery, AlertState, DeliveryStatus

ACTIVE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Activity:
    sockets: int
    users_connected: int
    users_active: int  # seen in the last 5 minutes (requests or sockets)
    users_total: int


def activity(session: Session, bus: Bus, now: datetime) -> Activity:
    sockets, connected = presence.online(bus, now.timestamp())
    recent = set(
        session.scalars(
            select(DeviceSession.user_id)
            .where(DeviceSession.ended_at.is_(None))
            .where(DeviceSession.last_seen_at >= now - ACTIVE_WINDOW)
            .distinct()
        )
    )
    total = session.scalar(select(func.count(User.id))) or 0
    return Activity(sockets, len(connected), len(recent | connected), total)


def alert_board(session: Session, limit: int = 20) -> tuple[list[Alert], list[Alert]]:
    """(firing alerts, the latest resolved ones)."""
    firing = session.scalars(
        select(Alert).where(Alert.state == AlertState.FIRING).order_by(Alert.started_at.desc())
    ).all()
    resolved = session.scalars(
        select(Alert)
        .where(Alert.state == AlertState.RESOLVED)
        .order_by(Alert.resolved_at.desc())
        .limit(limit)
    ).all()
    return list(firing), list(resolved)


def failed_deliveries(session: Session, limit: int = 20) -> list[AlertDelivery]:
    return list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.status == DeliveryStatus.FAILED)
            .order_by(AlertDelivery.next_try_at)
            .limit(limit)
        )
    )
