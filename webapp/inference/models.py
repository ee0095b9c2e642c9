from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, PreciseUTCDateTime, UTCDateTime, utcnow


class NodeKey(Base):
    """An API key a pc_node presents on the link. Only a SHA-256 of the secret is kept."""

    __tablename__ = "node_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in the admin list to tell keys apart
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class InferenceJob(Base):
    """A generation someone is waiting for: the durable record of the deployment's one queue.

    Queued until a dispatcher that holds a node link claims it; running while that dispatcher
    renews its lease; a lapsed lease puts it back in the queue. The row is deleted when the job
    ends (its outcome is stored where its kind keeps it: the reply message, say); only the
    dispatcher whose lease is current may end it, so an outcome is stored once.
    """

    __tablename__ = "inference_jobs"
    __table_args__ = (
        Index("ix_inference_jobs_queue", "state", "priority", "ready_at", "created_at", "id"),
        Index("ix_inference_jobs_user", "user_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # JSON: messages, max_tokens, temperature, meta. A prompt of long turns and a long card can
    # pass TEXT's 64 KB on MariaDB (Cyrillic is two bytes a letter): MEDIUMTEXT there.
    payload: Mapped[str] = mapped_column(Text().with_variant(MEDIUMTEXT(), "mysql"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Round robin: a person's other jobs move to the back of the line when one of theirs starts.
    ready_at: Mapped[datetime] = mapped_column(PreciseUTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(PreciseUTCDateTime)
    created_at: Mapped[datetime] = mapped_column(PreciseUTCDateTime, default=utcnow)


class NodeHeartbeat(Base):
    """A linked node as the web process that holds its link last saw it (every couple of
    seconds): the AI status of the whole deployment is read from these rows."""

    __tablename__ = "inference_nodes"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # dispatcher + node id
    owner: Mapped[str] = mapped_column(String(64), index=True)
    node_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(120))
    context_size: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    running: Mapped[int] = mapped_column(Integer, default=0)
    tokens_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # this link's first beat


class DispatchLock(Base):
    """One row per lock name; claiming the next job locks the 'dispatch' row (SELECT ... FOR
    UPDATE on MariaDB; SQLite's single writer serialises by itself), so the one-running-per-
    person rule holds across every process."""

    __tablename__ = "inference_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
