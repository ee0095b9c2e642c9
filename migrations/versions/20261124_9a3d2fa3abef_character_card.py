"""character card

Revision ID: 9a3d2fa3abef
Revises: f8a6cc3fecc9
Create Date: 2026-11-24 21:12:01.214410
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9a3d2fa3abef"
down_revision: str | None = "f8a6cc3fecc9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.drop_column("card")
