from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Status(StrEnum):
    """User messages: delivered (stored) -> read (the character started answering).
    Assistant messages: pending (queued) -> streaming -> done, or error / cancelled."""

    DELIVERED = "delivered"
    READ = "read"
    PENDING = "pending"
    STREAMING = "streaming"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"


OPEN_REPLY = (Status.PENDING, Status.STREAMING)


class Persona(Base):
    """Who the person is in a dialog: the name {{user}} stands for, and a few words the model
    reads about them. One may be the default for new dialogs."""

    __tablename__ = "personas"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    avatar: Mapped[str | None] = mapped_column(String(40))  # characters.avatars file stem
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dialog(Base):
    __tablename__ = "dialogs"
    __table_args__ = (Index("ix_dialogs_user_character", "user_id", "character_id", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    character_id: Mapped[int] = mapped_column(ForeignKey("characters.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120), default="")
    character_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who the person is in this dialog (None: their default persona, or their display name). No
    # foreign key (see migration d6e1f4a8b2c5): chat.personas.delete clears it.
    persona_id: Mapped[int | None] = mapped_column(Integer)
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The extractive summary of older messages last sent to the model (shown to the person too);
    # it covers messages up to summary_upto_id, except the ones kept word for word.
    summary: Mapped[str | None] = mapped_column(Text)
    summary_upto_id: Mapped[int | None] = mapped_column(Integer)
    # The model's own summary of the dialog up to written_upto_id (chat.summaries), written at
    # low priority; the summary above then only summarises what came after it.
    written_summary: Mapped[str | None] = mapped_column(Text)
    written_upto_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_dialog_id", "dialog_id", "id"),
        UniqueConstraint("dialog_id", "client_id", name="uq_messages_dialog_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dialog_id: Mapped[int] = mapped_column(ForeignKey("dialogs.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = mapped_column(String(16))
    # The browser's id for a sent message: a resend after a reconnect is recognised, not doubled.
    client_id: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # A reply written again keeps every version (Swipe rows); `swipe` is the one shown, which is
    # also the one the model sees later. One version: no Swipe rows, swipes == 1.
    swipe: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    swipes: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # A reply being continued: the text so far stays shown; the job's text is added to it.
    continued: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Swipe(Base):
    """One version of a reply that has more than one (see Message.swipe)."""

    __tablename__ = "message_swipes"
    __table_args__ = (UniqueConstraint("message_id", "position", name="uq_message_swipes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Favorite(Base):
    __tablename__ = "favorites"
    __table_args__ = (UniqueConstraint("user_id", "message_id", name="uq_favorites_user_message"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
