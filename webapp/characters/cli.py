"""`flask characters import FILE...`, `flask characters export ID --format ... -o FILE` and
`flask seed-demo`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from webapp.characters import avatars, cards, editor
from webapp.characters.models import Character
from webapp.characters.service import seed_demo
from webapp.db import utcnow
from webapp.extensions import db, get_settings

group = AppGroup("characters", help="Import and export character cards.")


@group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--confirm-similar", is_flag=True, help="Save near-duplicate prompts anyway")
def import_cards(files: tuple[str, ...], confirm_similar: bool) -> None:
    """Import PNG or JSON cards as drafts; prints each new id or every violation."""
    failed = 0
    for name in files:
        with db.new_session() as session:
            try:
                draft, kept = cards.to_draft(cards.read_card(Path(name).read_bytes()))
                character, similar = editor.save(
                    session, draft, author_id=None, now=utcnow(), confirm_similar=confirm_similar
                )
            except editor.CharacterInvalid as exc:
                failed += 1
                click.echo(f"{name}: " + "; ".join(str(m) for m in exc.errors.values()), err=True)
                continue
            if similar is not None:
                failed += 1
                click.echo(
                    f"{name}: похож на «{similar.name}» на {round(similar.score * 100)}% "
                    "(--confirm-similar сохранит)",
                    err=True,
                )
                continue
            character.card = kept
            session.commit()
            click.echo(f"{name}: {character.id}")
    if failed:
        raise SystemExit(1)


@group.command("export")
@click.argument("character_id", type=int)
@click.option("--format", "kind", type=click.Choice(["png", "json", "v2", "v3"]), default="json")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def export_card(character_id: int, kind: str, output: str) -> None:
    """Write a character's card (json = V2 JSON)."""
    with db.new_session() as session:
        character = session.get(Character, character_id)
        if character is None:
            raise click.ClickException(f"нет персонажа с id {character_id}")
        if kind == "png":
            directory = avatars.directory(get_settings().instance_path)
            avatar = avatars.read(directory, character.avatar)
            Path(output).write_bytes(cards.export_png(character, avatar))
        else:
            spec = "chara_card_v3" if kind == "v3" else "chara_card_v2"
            Path(output).write_text(cards.export_json(character, spec), encoding="utf-8")
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
