"""written dialog summary

Revision ID: 5b1e7c2a9d40
Revises: fdd0e61a2138
Create Date: 2026-11-30 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e7c2a9d40"
down_revision: str | None = "fdd0e61a2138"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("written_summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("written_upto_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.drop_column("written_upto_id")
        batch_op.drop_column("written_summary")
