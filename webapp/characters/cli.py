"""`flask characters import FILE...`, `flask characters export ID --format ... -o FILE` and
`flask seed-demo`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from webapp.characters import cards, editor, transfer
from webapp.characters.models import Character
from webapp.characters.service import seed_demo
from webapp.db import utcnow
from webapp.extensions import db, get_settings

group = AppGroup("characters", help="Import and export character cards.")


@group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--confirm-similar", is_flag=True, help="Save near-duplicate prompts anyway")
def import_cards(files: tuple[str, ...], confirm_similar: bool) -> None:
    """Import PNG, JSON or CHARX cards as drafts; prints each new id or every violation."""
    failed = 0
    for name in files:
        with db.new_session() as session:
            try:
                done = transfer.import_file(
                    session,
                    Path(name).read_bytes(),
                    instance_path=get_settings().instance_path,
                    author_id=None,
                    now=utcnow(),
                    confirm_similar=confirm_similar,
                )
            except editor.CharacterInvalid as exc:
                failed += 1
                click.echo(f"{name}: " + "; ".join(str(m) for m in exc.errors.values()), err=True)
                continue
            if done.character is None:
                failed += 1
                click.echo(
                    f"{name}: похож на «{done.similar.name}» на "
                    f"{round(done.similar.score * 100)}% (--confirm-similar сохранит)",
                    err=True,
                )
                continue
            session.commit()
            notes = "".join(f" ({note})" for note in done.notes)
            click.echo(f"{name}: {done.character.id}{notes}")
    if failed:
        raise SystemExit(1)


@group.command("export")
@click.argument("character_id", type=int)
@click.option(
    "--format",
    "kind",
    type=click.Choice(["json", "v2", "v3", "png", "charx"]),
    default="json",
    help="json: the card's own format",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def export_card(character_id: int, kind: str, output: str) -> None:
    """Write a character's card."""
    with db.new_session() as session:
        character = session.get(Character, character_id)
        if character is None:
            raise click.ClickException(f"нет персонажа с id {character_id}")
        instance = get_settings().instance_path
        if kind == "png":
            Path(output).write_bytes(transfer.export_png(instance, character))
        elif kind == "charx":
            Path(output).write_bytes(transfer.export_charx(instance, character))
        else:
            target = None if kind == "json" else kind
            Path(output).write_text(cards.export_json(character, target), encoding="utf-8")
    click.echo(output)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Add the demo characters that are not there yet."""
    with db.new_session() as session:
        created = seed_demo(session)
        session.commit()
    click.echo(f"Demo characters created: {created}")


COMMANDS = (group, seed_demo_command)
