"""Search in a person's messages: in one dialog or across all of them, newest first, a page at a
time (keyset on the message id), one query a page whatever the count.

SQLite: the FTS5 index (migration f2c8a6d4e9b1) with each word as a prefix. MariaDB: the
FULLTEXT index in boolean mode, each word a required prefix; InnoDB leaves out words shorter
than three letters, so a query of only such words falls back to LIKE over the person's messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, literal_column, select, text
from sqlalchemy.orm import Session

from webapp.characters.models import Character
from webapp.chat.errors import ChatError
from webapp.chat.models import Dialog, Message

PAGE = 20
QUERY_MAX = 100
WORD = re.compile(r"\w+", re.UNICODE)
FULLTEXT_MIN = 3  # innodb_ft_min_token_size


def index_object(name: str | None, kind: str) -> bool:
    """The search indexes that live only in their migration (f2c8a6d4e9b1), never in the models:
    an FTS5 table and its shadow tables on SQLite, a FULLTEXT index on MariaDB. Autogenerate
    leaves them be (migrations/env.py)."""
    if kind == "table":
        return bool(name and name.startswith("messages_fts"))
    return kind == "index" and name == "ix_messages_text_fulltext"


class QueryInvalid(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Поиск: от 2 до %(n)s символов, хотя бы одно слово", n=QUERY_MAX))


@dataclass(frozen=True)
class Hit:
    message: Message
    dialog_title: str
    character_name: str


def words_of(query: str) -> list[str]:
    query = " ".join(query.split())
    words = WORD.findall(query)[:8]
    if not 2 <= len(query) <= QUERY_MAX or not words:
        raise QueryInvalid()
    return words


def _match(session: Session, words: list[str]):
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        fts = " ".join('"' + word.replace('"', '""') + '"*' for word in words)
        return Message.id.in_(
            select(literal_column("rowid"))
            .select_from(text("messages_fts"))
            .where(text("messages_fts MATCH :fts").bindparams(fts=fts))
        )
    long = [word for word in words if len(word) >= FULLTEXT_MIN]
    if not long:  # InnoDB does not index such short words
        return and_(*(Message.text.contains(word, autoescape=True) for word in words))
    boolean = " ".join(f"+{word}*" for word in long)
    return text("MATCH (messages.text) AGAINST (:ft IN BOOLEAN MODE)").bindparams(ft=boolean)


def search(
    session: Session,
    user_id: int,
    query: str,
    *,
    dialog_id: int | None = None,
    before_id: int | None = None,
) -> tuple[list[Hit], bool]:
    """Up to PAGE messages with every word of `query` (as a word's start), newest first, before
    `before_id`; and whether there are more."""
    words = words_of(query)
    statement = (
        select(Message, Dialog.title, Character.name)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .join(Character, Character.id == Dialog.character_id)
        .where(Dialog.user_id == user_id, _match(session, words))
    )
    if dialog_id is not None:
        statement = statement.where(Message.dialog_id == dialog_id)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    rows = session.execute(statement.order_by(Message.id.desc()).limit(PAGE + 1)).all()
    hits = [Hit(message, title or "", name) for message, title, name in rows[:PAGE]]
    return hits, len(rows) > PAGE


def snippet(text_: str, words: list[str], width: int = 160) -> tuple[str, str, str]:
    """(before, match, after) around the first word found, for <mark>."""
    folded = text_.casefold()
    for word in words:
        at = folded.find(word.casefold())
        if at >= 0:
            start = max(at - width // 2, 0)
            end = min(at + len(word) + width // 2, len(text_))
            before = ("…" if start else "") + text_[start:at]
            after = text_[at + len(word) : end] + ("…" if end < len(text_) else "")
            return before, text_[at : at + len(word)], after
    return text_[:width] + ("…" if len(text_) > width else ""), "", ""
