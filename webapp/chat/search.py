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
from sqlalchemy import func, literal_column, select, text
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


def _fts_match(words: list[str]):
    fts = " ".join('"' + word.replace('"', '""') + '"*' for word in words)
    return Message.id.in_(
        select(literal_column("rowid"))
        .select_from(text("messages_fts"))
        .where(text("messages_fts MATCH :fts").bindparams(fts=fts))
    )


def _fulltext_match(words: list[str]):
    boolean = " ".join(f"+{word}*" for word in words)
    return text("MATCH (messages.text) AGAINST (:ft IN BOOLEAN MODE)").bindparams(ft=boolean)


def _starts_words(words: list[str]) -> re.Pattern:
    """The FTS rule in Python: every word is the start of a word of the text (case, ё folded)."""
    return re.compile(
        "".join(rf"(?=.*(?<!\w){re.escape(_fold(word))})" for word in words), re.DOTALL
    )


def _fold(value: str) -> str:
    return value.casefold().replace("ё", "е")


def _page(statement, limit: int):
    return statement.order_by(Message.id.desc()).limit(limit)


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
    # The characters' names come after, in one query for the page: joined in the scan, MariaDB
    # buffers the join and sorts every candidate instead of stopping at a page.
    statement = (
        select(Message, Dialog.title, Dialog.character_id)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .where(Dialog.user_id == user_id)
    )
    if dialog_id is not None:
        statement = statement.where(Message.dialog_id == dialog_id)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(_page(statement.where(_fts_match(words)), PAGE + 1)).all()
    else:
        rows = _mariadb(session, statement, words, before_id)
    rows = rows[: PAGE + 1]
    names = dict(
        session.execute(
            select(Character.id, Character.name).where(
                Character.id.in_({row[2] for row in rows[:PAGE]})
            )
        ).all()
        if rows
        else ()
    )
    hits = [Hit(message, title or "", names.get(who, "")) for message, title, who in rows[:PAGE]]
    return hits, len(rows) > PAGE


RECENT_WINDOW = 5000  # ids read newest first before the FULLTEXT index is asked (MariaDB)
CANDIDATES = 4 * PAGE


def _mariadb(session: Session, statement, words: list[str], before_id: int | None) -> list:
    """InnoDB's FULLTEXT costs what the word's count in the whole table costs (~0.2 s for a word
    in 100,000 messages), however few rows are wanted; a scan of the newest messages in id order
    stops at the first page. So: the newest RECENT_WINDOW ids first (LIKE, checked in Python by
    the FTS rule), and only if they hold no whole page, the index for the older ones. Words too
    short for the index (FULLTEXT_MIN) are looked for with LIKE alone."""
    wanted = _starts_words(words)
    like = [Message.text.contains(word, autoescape=True) for word in words]
    newest = (session.scalar(select(func.max(Message.id))) or 0) + 1  # every page: same queries
    floor = min(before_id or newest, newest) - RECENT_WINDOW
    # Newest first by the primary key, messages read before their dialogs (STRAIGHT_JOIN): the
    # scan stops at a page instead of gathering every message of the person's dialogs.
    by_id = statement.with_hint(Message, "FORCE INDEX (PRIMARY)").prefix_with("STRAIGHT_JOIN")
    rows = _scan(session, by_id.where(Message.id >= floor, *like), wanted, [])
    if len(rows) > PAGE or floor <= 0:
        return rows
    long = [word for word in words if len(word) >= FULLTEXT_MIN]
    older = (statement.where(_fulltext_match(long)) if long else by_id).where(
        Message.id < floor, *like
    )
    return _scan(session, older, wanted, rows)


def _scan(session: Session, statement, wanted: re.Pattern, rows: list) -> list:
    """Candidates a batch at a time, newest first, until a page and one more pass the check."""
    last = None
    while len(rows) <= PAGE:
        batch = statement if last is None else statement.where(Message.id < last)
        found = session.execute(_page(batch, CANDIDATES)).all()
        rows += [row for row in found if wanted.search(_fold(row[0].text))]
        if len(found) < CANDIDATES:
            break
        last = found[-1][0].id
    return rows[: PAGE + 1]


def snippet(text_: str, words: list[str], width: int = 160) -> tuple[str, str, str]:
    """(before, match, after) around the first word found, for <mark>."""
    folded = _fold(text_)  # the same length as the text: casefold keeps Cyrillic lengths
    for word in words:
        at = folded.find(_fold(word)) if len(folded) == len(text_) else -1
        if at >= 0:
            start = max(at - width // 2, 0)
            end = min(at + len(word) + width // 2, len(text_))
            before = ("…" if start else "") + text_[start:at]
            after = text_[at + len(word) : end] + ("…" if end < len(text_) else "")
            return before, text_[at : at + len(word)], after
    return text_[:width] + ("…" if len(text_) > width else ""), "", ""
