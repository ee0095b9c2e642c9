"""node api keys

Revision ID: 71bcf8594e84
Revises: 6c3bd0420d35
Create Date: 2026-11-24 19:50:24.660990
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "71bcf8594e84"
down_revision: str | None = "6c3bd0420d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "node_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_node_keys_secret_hash")),
    )


def downgrade() -> None:
    op.drop_table("node_keys")
