"""Migrations are the only way the schema is made: they must match the models, both ways."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.schema import alembic_config
from webapp.models import metadata


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
