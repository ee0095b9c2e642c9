"""Maintenance windows: one row per planned, emergency, partial or test stop, from the request
to the recovery, with who asked and who confirmed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow


class Kind(StrEnum):
    PLANNED = "planned"
    EMERGENCY = "emergency"
    PARTIAL = "partial"  # only part of the service stops (scope)
    TEST = "test"  # a rehearsal: notices and the sequence run, nothing real stops


class Scope(StrEnum):
    ALL = "all"
    AI = "ai"  # replies stop; reading and writing history go on
    REGISTRATION = "registration"


class State(StrEnum):
    REQUESTED = "requested"  # a moderator asked; an admin has not confirmed yet
    SCHEDULED = "scheduled"  # confirmed; notices go out as the start nears
    DRAINING = "draining"  # the stop sequence is running
    DOWN = "down"
    RECOVERING = "recovering"
    UP = "up"  # over: the service is back
    CANCELLED = "cancelled"
    REJECTED = "rejected"


OPEN_STATES = (State.REQUESTED, State.SCHEDULED, State.DRAINING, State.DOWN, State.RECOVERING)
# Emails ahead of a planned start, and the banner, modal and login block before it.
NOTICES = (("24h", 24 * 60), ("12h", 12 * 60), ("1h", 60))


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_state_starts", "state", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(String(12))
    scope: Mapped[Scope] = mapped_column(String(16), default=Scope.ALL)
    state: Mapped[State] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the expected end
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notices_sent: Mapped[str] = mapped_column(String(40), default="")  # "24h,12h"
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the real stop
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drained_sockets: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def sent(self) -> set[str]:
        return {n for n in self.notices_sent.split(",") if n}

    def mark_sent(self, notice: str) -> None:
        self.notices_sent = ",".join(sorted(self.sent | {notice}))
