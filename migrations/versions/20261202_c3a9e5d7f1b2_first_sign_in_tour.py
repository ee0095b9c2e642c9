"""the first-sign-in tour: when a person closed it

Revision ID: c3a9e5d7f1b2
Revises: b8d2f6a4c1e3
Create Date: 2026-12-02 12:00:00.000000

People who already have an account have seen the site: the tour is marked done for them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3a9e5d7f1b2"
down_revision: str | None = "b8d2f6a4c1e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("tour_done_at", sa.DateTime(), nullable=True))
    users = sa.table("users", sa.column("tour_done_at"), sa.column("created_at"))
    op.get_bind().execute(sa.update(users).values(tour_done_at=users.c.created_at))


def downgrade() -> None:
    op.drop_column("users", "tour_done_at")
