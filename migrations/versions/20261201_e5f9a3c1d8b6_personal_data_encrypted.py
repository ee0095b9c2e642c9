"""personal data encrypted at rest: display names (with a keyed hash to find them), IPs and
device strings of device sessions and log entries

Revision ID: e5f9a3c1d8b6
Revises: c4e8f1a2b7d9
Create Date: 2026-12-01 15:00:00.000000

The rows are converted in place with the configured PII_ENCRYPTION_KEY, the same cipher the app
uses (the key is read only when there are rows to convert). Plain ALTERs only, never a batch
copy of the table: on SQLite a batch drops the old table, and with foreign keys on, that deletes
every row referencing it (ON DELETE CASCADE).
"""

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "e5f9a3c1d8b6"
down_revision: str | None = "c4e8f1a2b7d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, column, purpose (bound into the ciphertext), the old type, NOT NULL
COLUMNS = (
    ("users", "display_name", "display_name", sa.String(length=50), True),
    ("device_sessions", "device", "device", sa.String(length=120), True),
    ("device_sessions", "ip", "ip", sa.String(length=45), True),
    ("log_entries", "ip", "ip", sa.String(length=45), False),
    ("log_entries", "device", "device", sa.String(length=120), False),
)
BATCH = 500


@cache
def _cipher():
    from config.settings import load_settings
    from webapp.pii import PiiCipher

    return PiiCipher(load_settings().pii_encryption_key)


def _add(table: str, name: str, type_: Any, not_null: bool) -> None:
    """A new column; NOT NULL at once on SQLite (it cannot add the constraint later without
    copying the table), after it is filled on MariaDB (see _finish)."""
    if not_null and op.get_bind().dialect.name == "sqlite":
        empty = sa.text("x''") if isinstance(type_, sa.LargeBinary) else sa.text("''")
        op.add_column(table, sa.Column(name, type_, nullable=False, server_default=empty))
    else:
        op.add_column(table, sa.Column(name, type_, nullable=True))


def _finish(table: str, name: str, type_: Any, not_null: bool) -> None:
    if not_null and op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, name, existing_type=type_, nullable=False)


def _convert(
    table: str, column: str, new_type: Any, not_null: bool, change: Callable[[Any], dict]
) -> None:
    """Replace `column` with one of new_type holding change(old value), batch by batch;
    change returns the new columns' values by name ("value" for the column itself)."""
    temporary = f"{column}_new"
    _add(table, temporary, new_type, not_null)
    bind = op.get_bind()
    names = {"id", column, temporary, "display_name_hash"}
    source = sa.table(table, *(sa.column(name) for name in names))
    last = None
    while True:
        query = sa.select(source.c.id, source.c[column]).order_by(source.c.id).limit(BATCH)
        if last is not None:
            query = query.where(source.c.id > last)
        rows = bind.execute(query).all()
        if not rows:
            break
        for row_id, value in rows:
            values = {temporary if k == "value" else k: v for k, v in change(value).items()}
            bind.execute(sa.update(source).where(source.c.id == row_id).values(**values))
        last = rows[-1][0]
    op.drop_column(table, column)
    op.alter_column(
        table, temporary, new_column_name=column, existing_type=new_type, existing_nullable=True
    )
    _finish(table, column, new_type, not_null)


def upgrade() -> None:
    _add("users", "display_name_hash", sa.String(length=64), True)
    for table, column, purpose, _old, not_null in COLUMNS:

        def encrypt(value, purpose=purpose, column=column) -> dict:
            if value is None:
                return {"value": None}
            sealed = {"value": _cipher().encrypt(value, purpose=purpose)}
            if column == "display_name":
                sealed["display_name_hash"] = _cipher().lookup_hash(value)
            return sealed

        _convert(table, column, sa.LargeBinary(), not_null, encrypt)
    _finish("users", "display_name_hash", sa.String(length=64), True)
    op.create_index(op.f("ix_users_display_name_hash"), "users", ["display_name_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_users_display_name_hash"), table_name="users")
    op.drop_column("users", "display_name_hash")
    for table, column, purpose, old, not_null in COLUMNS:

        def decrypt(value, purpose=purpose) -> dict:
            if value is None:
                return {"value": None}
            return {"value": _cipher().decrypt(bytes(value), purpose=purpose)}

        _convert(table, column, old, not_null, decrypt)
