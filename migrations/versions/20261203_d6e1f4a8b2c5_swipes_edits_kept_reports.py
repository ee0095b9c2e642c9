"""replies with several versions (swipes), continued and edited messages; a report keeps the
message it flags; personas

Revision ID: d6e1f4a8b2c5
Revises: c3a9e5d7f1b2
Create Date: 2026-12-03 10:00:00.000000

A report used to point at its message only, and went with it (ON DELETE CASCADE) when the person
deleted the dialog. It now holds the reported text and character itself; the message link is
set to NULL instead. Only message_reports is copied in a batch on SQLite (no table refers to it,
so dropping the old copy deletes nothing else); messages and dialogs only get plain ADD COLUMNs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d6e1f4a8b2c5"
down_revision: str | None = "c3a9e5d7f1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE_FK = "fk_message_reports_message_id_messages"
CHARACTER_FK = "fk_message_reports_character_id_characters"


def upgrade() -> None:
    op.create_table(
        "personas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("avatar", sa.String(length=40), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_personas_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
    )
    op.create_index(op.f("ix_personas_user_id"), "personas", ["user_id"], unique=False)
    # No foreign key: SQLite would need a batch copy of dialogs to add one, and that deletes the
    # messages referencing it (see e5f9a3c1d8b6). chat.personas.delete clears it instead.
    op.add_column("dialogs", sa.Column("persona_id", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("swipe", sa.Integer(), server_default="0", nullable=False))
    op.add_column("messages", sa.Column("swipes", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "messages", sa.Column("continued", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("messages", sa.Column("edited_at", sa.DateTime(), nullable=True))
    op.create_table(
        "message_swipes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_swipes_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_swipes")),
        sa.UniqueConstraint("message_id", "position", name="uq_message_swipes"),
    )

    op.add_column("message_reports", sa.Column("character_id", sa.Integer(), nullable=True))
    op.add_column(
        "message_reports", sa.Column("text", sa.Text(), nullable=False, server_default="")
    )
    reports = sa.table(
        "message_reports",
        sa.column("message_id"),
        sa.column("character_id"),
        sa.column("text"),
    )
    messages = sa.table("messages", sa.column("id"), sa.column("dialog_id"), sa.column("text"))
    dialogs = sa.table("dialogs", sa.column("id"), sa.column("character_id"))
    op.get_bind().execute(
        sa.update(reports).values(
            text=sa.select(messages.c.text)
            .where(messages.c.id == reports.c.message_id)
            .scalar_subquery(),
            character_id=sa.select(dialogs.c.character_id)
            .join(messages, messages.c.dialog_id == dialogs.c.id)
            .where(messages.c.id == reports.c.message_id)
            .scalar_subquery(),
        )
    )
    with op.batch_alter_table("message_reports", schema=None) as batch_op:
        batch_op.drop_constraint(MESSAGE_FK, type_="foreignkey")
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("text", existing_type=sa.Text(), server_default=None)
        batch_op.create_foreign_key(
            MESSAGE_FK, "messages", ["message_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            CHARACTER_FK, "characters", ["character_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    reports = sa.table("message_reports", sa.column("message_id"))
    op.get_bind().execute(sa.delete(reports).where(reports.c.message_id.is_(None)))
    with op.batch_alter_table("message_reports", schema=None) as batch_op:
        batch_op.drop_constraint(CHARACTER_FK, type_="foreignkey")
        batch_op.drop_constraint(MESSAGE_FK, type_="foreignkey")
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            MESSAGE_FK, "messages", ["message_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_column("text")
        batch_op.drop_column("character_id")
    op.drop_table("message_swipes")
    for column in ("edited_at", "continued", "swipes", "swipe"):
        op.drop_column("messages", column)
    op.drop_column("dialogs", "persona_id")
    op.drop_table("personas")  # its indexes go with it (MariaDB keeps FK indexes)
