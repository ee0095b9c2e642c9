"""character avatar

Revision ID: f8a6cc3fecc9
Revises: 9c584633e331
Create Date: 2026-11-24 21:09:29.552470
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f8a6cc3fecc9"
down_revision: str | None = "9c584633e331"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("avatar", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.drop_column("avatar")
