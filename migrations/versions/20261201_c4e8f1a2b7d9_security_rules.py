"""security rules: the rank that hid a character; wrong TOTP codes counted per account;
wrong passwords counted per account, (account, IP) and IP in login_throttles

Revision ID: c4e8f1a2b7d9
Revises: a7c3e91d0b42
Create Date: 2026-12-01 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e8f1a2b7d9"
down_revision: str | None = "a7c3e91d0b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("characters") as batch:
        batch.add_column(sa.Column("hidden_rank", sa.Integer(), nullable=True))
    # A character hidden before this revision was hidden by a moderator (rank 2) or by its
    # manager; keeping the old ones unlockable by managers would undo earlier decisions.
    op.execute("UPDATE characters SET hidden_rank = 2 WHERE state = 'hidden'")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("totp_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("totp_failed_since", sa.DateTime(), nullable=True))
    # Counted in login_throttles from now on (by email hash: unknown addresses too). Plain
    # ALTERs (SQLite 3.35+ drops columns itself): a batch would copy `users` into a new table and
    # drop the old one, and with foreign keys on, that DROP deletes every row that references a
    # user (ON DELETE CASCADE): sessions, dialogs, messages.
    op.drop_column("users", "failed_logins")
    op.drop_column("users", "locked_until")
    op.create_table(
        "login_throttles",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_login_throttles")),
    )
    op.create_index(op.f("ix_login_throttles_last_at"), "login_throttles", ["last_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttles_last_at"), table_name="login_throttles")
    op.drop_table("login_throttles")
    op.add_column("users", sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.add_column(
        "users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.drop_column("users", "totp_failed_since")
    op.drop_column("users", "totp_failures")
    op.drop_column("characters", "hidden_rank")  # not a batch: see upgrade
