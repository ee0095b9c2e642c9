"""`flask` commands: create-admin, seed-demo and bootstrap (what `make run` does on each start)."""

from __future__ import annotations

import click
from flask import Flask

from webapp.accounts.errors import AccountError
from webapp.accounts.models import Role
from webapp.accounts.passwords import generate_password
from webapp.accounts.service import create_user, ensure_initial_admin
from webapp.characters.service import seed_demo
from webapp.extensions import db, get_pii, get_settings


def init_app(app: Flask) -> None:
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
        """First-start set-up: initial admin (instance/initial-admin.txt) and demo characters."""
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
            session.commit()
        if admin is not None:
            click.echo(f"Initial admin {settings.admin_email}; password in {credentials}")
        click.echo(f"Demo characters created: {created}")
