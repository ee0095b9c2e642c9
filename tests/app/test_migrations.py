"""Migrations are the only way the schema is made: they must match the models, both ways."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.schema import alembic_config
from webapp.chat.search import index_object
from webapp.models import metadata


def include_object(item, name, kind, reflected, compare_to) -> bool:
    return not index_object(name, kind)  # as migrations/env.py


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_and_upgrade_again(engine):
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    assert {"users", "characters"} <= set(inspect(engine).get_table_names())


def test_personal_data_already_stored_is_encrypted_by_the_upgrade(engine):
    """Rows written before personal data was encrypted come out of the upgrade encrypted, and
    read back as they were; the downgrade gives the plain text back."""
    from sqlalchemy import text

    from config.settings import load_settings
    from webapp.pii import PiiCipher

    def plain_rows(connection):
        connection.execute(
            text(
                "INSERT INTO users (id, email_encrypted, email_hash, display_name, password_hash,"
                " role, is_blocked, locale, timezone, maintenance_emails, totp_failures,"
                " created_at) VALUES (9001, :e, 'h9001', 'Старая Запись', 'x', 'user', 0, 'ru',"
                " 'Europe/Moscow', 1, 0, '2026-11-01 00:00:00')"
            ),
            {"e": b"\x01"},
        )
        connection.execute(
            text(
                "INSERT INTO device_sessions (id, user_id, refresh_jti, device, ip, created_at,"
                " last_seen_at) VALUES ('s9001', 9001, 'j', 'Firefox, Linux', '203.0.113.5',"
                " '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )

    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "c4e8f1a2b7d9")
            plain_rows(connection)
            command.upgrade(alembic_config(connection), "head")
            name, name_hash = connection.execute(
                text("SELECT display_name, display_name_hash FROM users WHERE id = 9001")
            ).one()
            device, ip = connection.execute(
                text("SELECT device, ip FROM device_sessions WHERE id = 's9001'")
            ).one()
        cipher = PiiCipher(load_settings().pii_encryption_key)  # the migration's own key
        assert "Старая".encode() not in bytes(name) and b"203.0.113" not in bytes(ip)
        assert cipher.decrypt(bytes(name), purpose="display_name") == "Старая Запись"
        assert name_hash == cipher.lookup_hash("старая запись")
        assert cipher.decrypt(bytes(device), purpose="device") == "Firefox, Linux"
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "c4e8f1a2b7d9")
            assert (
                connection.execute(text("SELECT display_name FROM users WHERE id = 9001")).scalar()
                == "Старая Запись"
            )
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM device_sessions WHERE id = 's9001'"))
            connection.execute(text("DELETE FROM users WHERE id = 9001"))
            command.upgrade(alembic_config(connection), "head")


def test_characters_imported_before_get_their_cards_fields(engine):
    """A card imported by the first importer (its fields only in `card`, the site's default
    prompt written in) comes out of the upgrade with its definition as columns, no default
    prompt, and a definition key; a native character keeps its prompt."""
    import json

    from sqlalchemy import text

    from webapp.characters.editor import definition_key

    old = {
        "spec": "chara_card_v2",
        "card": {
            "spec": "chara_card_v2",
            "data": {
                "name": "Старая",
                "description": "Длинное описание для модели.",
                "personality": "Тихая.",
                "mes_example": "<START>\n{{user}}: Привет\n{{char}}: Здравствуй",
                "character_book": {"entries": [{"keys": ["сад"], "content": "Сад."}]},
            },
        },
        "mapped": {},
    }
    insert = text(
        "INSERT INTO characters (id, name, name_key, description, system_prompt, greeting,"
        " alternate_greetings, temperature, max_length, examples, filters, tags, tags_text,"
        " version, card, state, created_at, updated_at) VALUES (:id, :name, :key, '', :prompt,"
        " '', '[]', 0.8, 2000, '[]', '[]', '[]', '|сад|', 1, :card, 'draft',"
        " '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
    )
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "e5f9a3c1d8b6")
            default = "Ты — {{char}}. Отвечай от лица персонажа и оставайся в образе."
            first = {"id": 9101, "name": "Старая", "key": "старая", "prompt": default}
            connection.execute(insert, {**first, "card": json.dumps(old)})
            second = {"id": 9102, "name": "Своя", "key": "своя", "prompt": "Ты садовница."}
            connection.execute(insert, {**second, "card": None})
            command.upgrade(alembic_config(connection), "head")
            rows = {
                row.id: row
                for row in connection.execute(
                    text(
                        "SELECT id, system_prompt, definition, personality, mes_example,"
                        " lorebook, definition_key, tags_text FROM characters WHERE id > 9100"
                    )
                )
            }
        imported, native = rows[9101], rows[9102]
        assert (
            imported.system_prompt == "" and imported.definition == "Длинное описание для модели."
        )
        assert imported.personality == "Тихая." and imported.mes_example.startswith("<START>")
        lorebook = (
            imported.lorebook
            if isinstance(imported.lorebook, dict)
            else json.loads(imported.lorebook)
        )
        assert lorebook["entries"][0]["keys"] == ["сад"] and imported.tags_text == "|сад|"
        assert imported.definition_key == definition_key(dict(imported._mapping, examples=[]))
        assert native.system_prompt == "Ты садовница."
        assert native.definition_key == definition_key({"system_prompt": "Ты садовница."})
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM characters WHERE id > 9100"))
