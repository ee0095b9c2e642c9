"""forecast scores: the daily self-validation of the load forecast

Revision ID: 2d3366e07fc7
Revises: 67b99380f695
Create Date: 2026-11-29 20:55:32.578447
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2d3366e07fc7"
down_revision: str | None = "67b99380f695"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("horizon", sa.String(length=8), nullable=False),
        sa.Column("mae", sa.Float(), nullable=False),
        sa.Column("origins", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_scores")),
        sa.UniqueConstraint(
            "day", "metric", "method", "horizon", name=op.f("uq_forecast_scores_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("forecast_scores")
