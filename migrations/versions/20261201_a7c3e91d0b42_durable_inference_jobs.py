"""durable inference jobs: the deployment's queue with leases, node heartbeats, dispatch lock

Revision ID: a7c3e91d0b42
Revises: 5b1e7c2a9d40
Create Date: 2026-12-01 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "a7c3e91d0b42"
down_revision: str | None = "5b1e7c2a9d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Queue order within a second matters: MariaDB keeps microseconds only when asked.
PRECISE = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "inference_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("ready_at", PRECISE, nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", PRECISE, nullable=True),
        sa.Column("created_at", PRECISE, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_jobs")),
    )
    op.create_index(
        "ix_inference_jobs_queue",
        "inference_jobs",
        ["state", "priority", "ready_at", "created_at", "id"],
    )
    op.create_index("ix_inference_jobs_user", "inference_jobs", ["user_id", "state"])
    op.create_table(
        "inference_nodes",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("context_size", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("tokens_per_s", sa.Float(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_nodes")),
    )
    op.create_index(op.f("ix_inference_nodes_owner"), "inference_nodes", ["owner"])
    locks = op.create_table(
        "inference_locks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_inference_locks")),
    )
    op.bulk_insert(locks, [{"name": "dispatch"}])


def downgrade() -> None:
    op.drop_table("inference_locks")
    op.drop_index(op.f("ix_inference_nodes_owner"), table_name="inference_nodes")
    op.drop_table("inference_nodes")
    op.drop_index("ix_inference_jobs_user", table_name="inference_jobs")
    op.drop_index("ix_inference_jobs_queue", table_name="inference_jobs")
    op.drop_table("inference_jobs")
