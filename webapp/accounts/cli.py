"""`flask create-admin --email …`: an admin account with a generated password, printed once."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from webapp.accounts.errors import AccountError
from webapp.accounts.models import Role
from webapp.accounts.passwords import generate_password
from webapp.accounts.service import create_user
from webapp.extensions import db, get_pii, get_settings


@click.command("create-admin")
@click.option("--email", required=True, help="Email of the new admin")
@click.option("--name", default="Администратор", show_default=True)
@with_appcontext
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


COMMANDS = (create_admin,)
