"""search over messages: an FTS5 index on SQLite, a FULLTEXT index on MariaDB

Revision ID: f2c8a6d4e9b1
Revises: d6e1f4a8b2c5
Create Date: 2026-12-03 12:00:00.000000

SQLite: an external-content FTS5 table over messages.text (unicode61: Cyrillic folds case, ё
is е), kept in step by triggers, filled from the messages already there. MariaDB: a FULLTEXT
index on messages.text (InnoDB). Neither is in the models: migrations/env.py tells
autogenerate to leave them be (webapp.chat.search.index_object).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2c8a6d4e9b1"
down_revision: str | None = "d6e1f4a8b2c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    else:
        op.execute("CREATE FULLTEXT INDEX ix_messages_text_fulltext ON messages (text)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS messages_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    else:
        op.execute("DROP INDEX ix_messages_text_fulltext ON messages")
