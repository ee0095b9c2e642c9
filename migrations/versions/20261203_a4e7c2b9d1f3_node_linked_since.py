"""a linked node's row says since when it is linked (the admins' node page shows it)

Revision ID: a4e7c2b9d1f3
Revises: f2c8a6d4e9b1
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4e7c2b9d1f3"
down_revision: str | None = "f2c8a6d4e9b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inference_nodes", sa.Column("linked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("inference_nodes", "linked_at")
