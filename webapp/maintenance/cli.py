"""`flask backup …`: make, list and restore database dumps (webapp.maintenance.backups)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.db import make_engine
from webapp.extensions import db
from webapp.i18n import MOSCOW
from webapp.maintenance import backups, page

group = AppGroup("backup", help="Database backups: create, list, restore.")


def _folder() -> Path:
    return backups.folder_of(current_app.extensions["mehhost.settings"].instance_path)


@group.command("create")
@click.option("--keep", default=backups.KEEP, show_default=True, type=click.IntRange(1, 1000))
def create_command(keep: int) -> None:
    """Dump the database into instance/backups and keep the newest --keep dumps."""
    made = backups.create(db.engine, _folder())
    removed = backups.rotate(_folder(), keep)
    click.echo(f"{made.path} ({made.size // 1024} KB); rotated away: {len(removed)}")


@group.command("list")
def list_command() -> None:
    """The dumps, newest first, with their revision and row counts."""
    for backup in backups.stored(_folder()):
        header = backups.read_header(backup.path)
        rows = sum(header.get("rows", {}).values())
        click.echo(f"{backup.name}  {backup.size // 1024} KB  {rows} rows  {header['revision']}")


@group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--database-url", help="Restore here instead of DATABASE_URL (a fresh database).")
@click.option("--replace", is_flag=True, help="Delete the rows already in the database first.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing.")
def restore_command(file: Path, database_url: str | None, replace: bool, yes: bool) -> None:
    """Load a dump into a database whose schema is at the dump's revision."""
    header = backups.read_header(file)
    if replace and not yes:
        click.confirm("Все данные в базе будут заменены содержимым копии. Продолжить?", abort=True)
    engine = make_engine(database_url) if database_url else db.engine
    try:
        restored = backups.restore(engine, file, replace=replace)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {sum(restored.values())} rows from {header['made_at']}")


page_group = AppGroup("maintenance", help="The static maintenance page nginx shows.")


@page_group.command("page")
@click.option("--until", "until", type=click.DateTime(["%Y-%m-%d %H:%M"]), help="Moscow time.")
@click.option("--reason", default="", help="One line shown under the expected end.")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where nginx serves it from (default MAINTENANCE_PAGE_DIR).",
)
def page_command(until: datetime | None, reason: str, folder: Path | None) -> None:
    """Write the maintenance page with the expected end and the reason."""
    folder = (
        folder or Path(current_app.extensions["mehhost.settings"].instance_path) / "maintenance"
    )
    written = page.write(folder, until.replace(tzinfo=MOSCOW) if until else None, reason)
    click.echo(str(written))


COMMANDS = (group, page_group)
