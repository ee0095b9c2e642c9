"""character editor fields and versions

Revision ID: 9c584633e331
Revises: 5119e635c1bd
Create Date: 2026-11-24 21:02:53.799564
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c584633e331"
down_revision: str | None = "5119e635c1bd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "character_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("character_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_character_versions_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["character_id"],
            ["characters.id"],
            name=op.f("fk_character_versions_character_id_characters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_character_versions")),
        sa.UniqueConstraint("character_id", "number", name="uq_character_versions"),
    )
    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alternate_greetings", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("temperature", sa.Float(), server_default="0.8", nullable=False)
        )
        batch_op.add_column(
            sa.Column("max_length", sa.Integer(), server_default="2000", nullable=False)
        )
        batch_op.add_column(sa.Column("examples", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("filters", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("tags_text", sa.String(length=600), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    # Existing characters get empty lists, then the JSON columns become NOT NULL.
    op.execute(
        "UPDATE characters SET alternate_greetings = '[]', examples = '[]', filters = '[]', "
        "tags = '[]'"
    )
    with op.batch_alter_table("characters", schema=None) as batch_op:
        for column in ("alternate_greetings", "examples", "filters", "tags"):
            batch_op.alter_column(column, existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("character_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.drop_column("character_version")

    with op.batch_alter_table("characters", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("tags_text")
        batch_op.drop_column("tags")
        batch_op.drop_column("filters")
        batch_op.drop_column("examples")
        batch_op.drop_column("max_length")
        batch_op.drop_column("temperature")
        batch_op.drop_column("alternate_greetings")

    op.drop_table("character_versions")
