"""`flask` commands: create-admin, seed-demo and bootstrap (what `make run` does on each start)."""

from __future__ import annotations

import os
import signal
import threading

import click
from flask import Flask

from webapp.accounts.errors import AccountError
from webapp.accounts.models import Role
from webapp.accounts.passwords import generate_password
from webapp.accounts.service import create_user, ensure_initial_admin
from webapp.characters.service import seed_demo
from webapp.chat.replies import resume_open_replies
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_pii, get_settings
from webapp.inference.keys import create_key, verify_key


def init_app(app: Flask) -> None:
    from webapp.analysis.cli import init_app as init_analysis_commands
    from webapp.characters.cli import init_app as init_character_commands
    from webapp.maintenance.cli import init_app as init_backup_commands
    from webapp.openapi import init_app as init_openapi_command

    init_character_commands(app)
    init_analysis_commands(app)
    init_backup_commands(app)
    init_openapi_command(app)

    @app.cli.command("create-admin")
    @click.option("--email", required=True, help="Email of the new admin")
    @click.option("--name", default="Администратор", show_default=True)
    def create_admin(email: str, name: str) -> None:
        """Create an admin account and print its generated password once."""
        password = generate_password()
        with db.new_session() as session:
            try:
                create_user(
                    session,
                    get_pii(),
                    email=email,
                    password=password,
                    display_name=name,
                    bcrypt_rounds=get_settings().bcrypt_rounds,
                    role=Role.ADMIN,
                    confirmed=True,
                )
            except AccountError as exc:
                raise click.ClickException(str(exc)) from None
            session.commit()
        click.echo(f"Admin {email} created. Password: {password}")

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Add the demo characters that are not there yet."""
        with db.new_session() as session:
            created = seed_demo(session)
            session.commit()
        click.echo(f"Demo characters created: {created}")

    @app.cli.command("bootstrap")
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
            session.commit()
        if resumed:
            click.echo(f"Replies interrupted by the last stop, asked for again: {resumed}")
        if node_key:
            click.echo(f"pc_node API key for `make run` written to {node_key}")
        if admin is not None:
            click.echo(f"Initial admin {settings.admin_email}; password in {credentials}")
        click.echo(f"Demo characters created: {created}")

    @app.cli.command("node-key")
    @click.argument("name")
    def node_key(name: str) -> None:
        """Create a pc_node API key and print it once."""
        with db.new_session() as session:
            try:
                _key, raw = create_key(session, name, utcnow())
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
            session.commit()
        click.echo(raw)

    @app.cli.command("node-dial")
    @click.argument("url")
    @click.option("--api-key-file", type=click.Path(exists=True, dir_okay=False), required=True)
    def node_dial(url: str, api_key_file: str) -> None:
        """Tunnel mode: dial a pc_node listening at URL (through the reverse SSH tunnel)."""
        from flask import current_app

        from webapp.inference.dial import dial_node
        from webapp.inference.runtime import get_dispatcher

        with open(api_key_file, encoding="utf-8") as handle:
            api_key = handle.read().strip()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        dial_node(url, api_key, get_dispatcher(current_app._get_current_object()), stop)


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
