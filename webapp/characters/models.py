from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, LongText, UTCDateTime, utcnow


def name_key(name: str) -> str:
    """The form two names are compared in: trimmed, single-spaced, casefolded, ё as е."""
    return " ".join(name.split()).casefold().replace("ё", "е")


class CharacterState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    HIDDEN = "hidden"


class Character(Base):
    __tablename__ = "characters"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # Case, surrounding spaces and ё/е folded away: two names equal here are the same name.
    name_key: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")  # the catalogue's blurb
    # What the model reads (a card's fields; see characters.story): an imported card may leave
    # the system prompt empty, and the site's default stands in when the prompt is built.
    system_prompt: Mapped[str] = mapped_column(LongText)
    # A card's "description": who the character is, for the model.
    definition: Mapped[str] = mapped_column(LongText, default="", server_default="")
    personality: Mapped[str] = mapped_column(LongText, default="", server_default="")
    scenario: Mapped[str] = mapped_column(LongText, default="", server_default="")
    mes_example: Mapped[str] = mapped_column(LongText, default="", server_default="")
    post_history: Mapped[str] = mapped_column(LongText, default="", server_default="")
    nickname: Mapped[str] = mapped_column(String(50), default="", server_default="")
    lorebook: Mapped[dict | None] = mapped_column(JSON)  # a card's character_book, cleaned
    # sha256 of the normalised definition: two characters may not share one.
    definition_key: Mapped[str] = mapped_column(
        String(64), default="", server_default="", index=True
    )
    greeting: Mapped[str] = mapped_column(LongText, default="")
    alternate_greetings: Mapped[list] = mapped_column(JSON, default=list)
    temperature: Mapped[float] = mapped_column(Float, default=0.8, server_default="0.8")
    # The longest reply in characters; the chat cuts longer ones with " [...]".
    max_length: Mapped[int] = mapped_column(Integer, default=2000, server_default="2000")
    examples: Mapped[list] = mapped_column(JSON, default=list)  # [{"user": ..., "reply": ...}]
    filters: Mapped[list] = mapped_column(JSON, default=list)  # enabled content filters
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # "|tag1|tag2|", folded as name_key (case, spaces, ё): the catalogue finds a tag with one LIKE.
    tags_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    avatar: Mapped[str | None] = mapped_column(String(40))  # file stem under instance/avatars
    # An imported community card as it came ({"kind", "card": the whole root}); the file itself
    # is kept under instance/cards/ (characters.originals) for a lossless PNG or CHARX export.
    card: Mapped[dict | None] = mapped_column(JSON)
    state: Mapped[CharacterState] = mapped_column(
        String(16), default=CharacterState.DRAFT, index=True
    )
    # Set while a moderator keeps it hidden: the rank that decided, so a lower one cannot undo it.
    hidden_rank: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CharacterVersion(Base):
    """An immutable snapshot made by every save; a rollback is a new version."""

    __tablename__ = "character_versions"
    __table_args__ = (UniqueConstraint("character_id", "number", name="uq_character_versions"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("characters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    diff: Mapped[str] = mapped_column(LongText, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
