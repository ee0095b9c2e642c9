"""a character's whole definition: a card's description, personality, scenario, example dialogue,
post-history instructions, nickname and lorebook as columns, a key over all of it for the
"identical configuration" rule, and tags without a length cap on their search text

Revision ID: b8d2f6a4c1e3
Revises: e5f9a3c1d8b6
Create Date: 2026-12-02 10:00:00.000000

Characters imported earlier get their card's fields (they were kept in `card`) and lose the site's
default system prompt that import used to write in when a card had none. Plain ALTERs only (see
e5f9a3c1d8b6): tags_text is replaced by a new column rather than altered in a batch copy.
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMTEXT

revision: str = "b8d2f6a4c1e3"
down_revision: str | None = "e5f9a3c1d8b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXTS = ("definition", "personality", "scenario", "mes_example", "post_history")
# card field -> column, for characters imported before this revision
CARD_FIELDS = {
    "description": "definition",
    "personality": "personality",
    "scenario": "scenario",
    "mes_example": "mes_example",
    "post_history_instructions": "post_history",
}
# TEXT on MariaDB stops at 65,535 bytes; a card's fields may be 50,000 characters.
LONG = sa.Text().with_variant(MEDIUMTEXT(), "mysql").with_variant(MEDIUMTEXT(), "mariadb")
WIDENED = (("characters", "system_prompt", False), ("characters", "greeting", False),
           ("character_versions", "diff", False))  # fmt: skip
OLD_DEFAULT = "Ты — {{char}}. Отвечай от лица персонажа и оставайся в образе."


def _key(values: dict) -> str:
    """webapp.characters.editor.definition_key as it is at this revision."""
    parts = [values.get(name) or "" for name in ("system_prompt", *TEXTS)]
    parts += [f"{e.get('user', '')}\n{e.get('reply', '')}" for e in values.get("examples") or []]
    text = " ".join("\n\x1f".join(part for part in parts if part).split()).casefold()
    return hashlib.sha256(text.encode()).hexdigest()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    for name in TEXTS:
        op.add_column("characters", sa.Column(name, LONG, nullable=False, server_default=""))
    if op.get_bind().dialect.name != "sqlite":  # SQLite's TEXT has no such limit
        for table, column, nullable in WIDENED:
            op.alter_column(
                table, column, type_=LONG, existing_type=sa.Text(), existing_nullable=nullable
            )
    op.add_column(
        "characters", sa.Column("nickname", sa.String(50), nullable=False, server_default="")
    )
    op.add_column("characters", sa.Column("lorebook", sa.JSON(), nullable=True))
    op.add_column(
        "characters",
        sa.Column("definition_key", sa.String(64), nullable=False, server_default=""),
    )
    op.add_column(
        "characters", sa.Column("tags_text_new", sa.Text(), nullable=False, server_default="")
    )
    bind = op.get_bind()
    json_columns = ("examples", "card", "lorebook")
    table = sa.table(
        "characters",
        *(sa.column(name, sa.JSON()) for name in json_columns),
        *(
            sa.column(name)
            for name in (
                "id",
                "system_prompt",
                "tags_text",
                "tags_text_new",
                "definition_key",
                *TEXTS,
            )
        ),
    )
    rows = bind.execute(
        sa.select(
            table.c.id, table.c.system_prompt, table.c.examples, table.c.card, table.c.tags_text
        )
    ).all()
    for row in rows:
        values = {"system_prompt": row.system_prompt, "examples": _json(row.examples) or []}
        update = {"tags_text_new": row.tags_text or ""}
        card = _json(row.card) or {}
        root = card.get("card") if isinstance(card.get("card"), dict) else {}
        data = root.get("data") if isinstance(root.get("data"), dict) else root
        if data:
            for theirs, ours in CARD_FIELDS.items():
                text = data.get(theirs)
                update[ours] = values[ours] = text if isinstance(text, str) else ""
            prompt = data.get("system_prompt")
            if (
                not (isinstance(prompt, str) and prompt.strip())
                and row.system_prompt == OLD_DEFAULT
            ):
                update["system_prompt"] = values["system_prompt"] = ""
            if isinstance(data.get("character_book"), dict):
                update["lorebook"] = data["character_book"]
        update["definition_key"] = _key(values)
        bind.execute(sa.update(table).where(table.c.id == row.id).values(**update))
    op.drop_column("characters", "tags_text")
    op.alter_column(
        "characters",
        "tags_text_new",
        new_column_name="tags_text",
        existing_type=sa.Text(),
        existing_nullable=False,
        existing_server_default="",
    )
    op.create_index(op.f("ix_characters_definition_key"), "characters", ["definition_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_characters_definition_key"), table_name="characters")
    op.add_column(
        "characters",
        sa.Column("tags_text_old", sa.String(600), nullable=False, server_default=""),
    )
    table = sa.table("characters", sa.column("tags_text"), sa.column("tags_text_old"))
    op.get_bind().execute(
        sa.update(table).values(tags_text_old=sa.func.substr(table.c.tags_text, 1, 600))
    )
    op.drop_column("characters", "tags_text")
    op.alter_column(
        "characters",
        "tags_text_old",
        new_column_name="tags_text",
        existing_type=sa.String(600),
        existing_nullable=False,
        existing_server_default="",
    )
    for name in ("definition_key", "lorebook", "nickname", *TEXTS):
        op.drop_column("characters", name)
    if op.get_bind().dialect.name != "sqlite":
        for table, column, nullable in WIDENED:
            op.alter_column(
                table, column, type_=sa.Text(), existing_type=LONG, existing_nullable=nullable
            )
