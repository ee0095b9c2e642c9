"""Alembic environment: the URL comes from Settings; SQLite gets batch mode for ALTERs."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from config.settings import load_settings
from webapp.chat.search import index_object
from webapp.db import UTCDateTime, make_engine
from webapp.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_online() -> None:
    # Tests hand over an open connection; everything else connects with the configured URL.
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes.get("url") or load_settings().database_url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def include_object(item, name, kind, reflected, compare_to) -> bool:
    return not index_object(name, kind)


def _render_item(kind: str, item, autogen_context):
    # Migrations must not import app code: our UTCDateTime is a plain DateTime in the schema.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime()"
    return False


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run against a database.")
run_migrations_online()
