"""The `flask` commands. Each domain defines its own at module level (`<domain>/cli.py`,
`COMMANDS`); this module adds `bootstrap`, the start-up every `make run` does, and registers
them all with the app."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import with_appcontext

from webapp import openapi
from webapp.accounts import cli as accounts_cli
from webapp.accounts.service import ensure_initial_admin
from webapp.analysis import cli as analysis_cli
from webapp.characters import cli as characters_cli
from webapp.characters.service import seed_demo
from webapp.chat.replies import resume_open_replies
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_pii, get_settings
from webapp.inference import cli as inference_cli
from webapp.inference.keys import create_key, verify_key
from webapp.maintenance import cli as maintenance_cli
from webapp.monitoring import logs
from webapp.version import __version__


@click.command("bootstrap")
@with_appcontext
def bootstrap() -> None:
    """Start-up: initial admin (instance/initial-admin.txt), demo characters, dev node key,
    and interrupted replies asked for again. Run once before the web processes start."""
    settings = get_settings()
    credentials = settings.instance_path / "initial-admin.txt"
    with db.new_session() as session:
        admin = ensure_initial_admin(
            session,
            get_pii(),
            email=settings.admin_email,
            bcrypt_rounds=settings.bcrypt_rounds,
            credentials_file=credentials,
        )
        created = seed_demo(session)
        node_key = _ensure_dev_node_key(session, settings)
        resumed = resume_open_replies(session, get_bus(), utcnow())
        logs.system(session, "started", version=__version__, resumed=resumed)
        session.commit()
    if resumed:
        click.echo(f"Replies interrupted by the last stop, asked for again: {resumed}")
    if node_key:
        click.echo(f"pc_node API key for `make run` written to {node_key}")
    if admin is not None:
        click.echo(f"Initial admin {settings.admin_email}; password in {credentials}")
    click.echo(f"Demo characters created: {created}")


def _ensure_dev_node_key(session, settings):
    """Outside production, give the local pc_node of `make run` a key file (mode 600)."""
    if settings.production:
        return None
    path = settings.instance_path / "node.key"
    if path.exists() and verify_key(session, path.read_text().strip(), utcnow()) is not None:
        return None
    _key, raw = create_key(session, "make run (local pc_node)", utcnow())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(raw + "\n")
    return path


COMMANDS = (
    bootstrap,
    openapi.openapi_command,
    *accounts_cli.COMMANDS,
    *analysis_cli.COMMANDS,
    *characters_cli.COMMANDS,
    *inference_cli.COMMANDS,
    *maintenance_cli.COMMANDS,
)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
