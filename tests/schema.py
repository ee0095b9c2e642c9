"""Building a test database the way production does: with Alembic migrations."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from config.settings import PROJECT_ROOT


def alembic_config(connection=None, url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    if url:
        config.attributes["url"] = url
    return config


def reset_schema(engine) -> None:
    """Drop whatever is there and build the schema with Alembic, as production does."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":  # a virtual table drops its shadow tables
            connection.exec_driver_sql("DROP TABLE IF EXISTS messages_fts")
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
