"""A card file in, a card file out: import makes a draft character of a JSON, PNG or CHARX card
(its picture becomes the avatar; the file itself is kept under instance/cards/), export gives
the character back as JSON (its own format, V2 or V3), PNG or CHARX.

A PNG or CHARX export of an unchanged character whose avatar was not replaced is the file that
was imported, byte for byte; a changed one is that file with its card chunks (or card.json)
rewritten and everything else (the picture, other text chunks, a second `chara` chunk, assets)
as it was.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.orm import Session

from webapp.characters import avatars, cardfile, cards, editor
from webapp.characters.models import Character

ICON_PATH = "assets/icon/image/main.png"


@dataclass
class Imported:
    character: Character | None  # None: a near-duplicate waits for confirmation
    similar: editor.Similar | None = None
    notes: list[Any] = field(default_factory=list)


def originals(instance_path: Path) -> Path:
    return instance_path / "cards"


def original(instance_path: Path, character: Character) -> bytes | None:
    kind = (character.card or {}).get("kind")
    path = originals(instance_path) / f"{character.id}.{kind}"
    return path.read_bytes() if kind in ("png", "charx") and path.exists() else None


def import_file(
    session: Session,
    blob: bytes,
    *,
    instance_path: Path,
    author_id: int | None,
    now: datetime,
    confirm_similar: bool = False,
) -> Imported:
    """A draft character from a card file; CharacterInvalid lists every problem at once (the
    file's, the picture's and every field's). Nothing is written when it raises."""
    read = cardfile.read(blob)
    draft = cards.to_draft(read.card)
    errors: dict[str, Any] = {}
    encoded = None
    if read.picture:
        try:
            encoded = avatars.process(read.picture, cardfile.MAX_PICTURE_BYTES)
        except avatars.AvatarInvalid as exc:
            errors["avatar"] = str(exc)
    try:
        character, similar = editor.save(
            session, draft, author_id=author_id, now=now, confirm_similar=confirm_similar
        )
    except editor.CharacterInvalid as exc:
        raise editor.CharacterInvalid({**errors, **exc.errors}) from None
    if errors:
        raise editor.CharacterInvalid(errors)
    if similar is not None:
        return Imported(None, similar, read.notes)
    if encoded is not None:
        character.avatar = avatars.store(avatars.directory(instance_path), character.id, encoded)
    character.card = {"kind": read.kind, "card": read.card, "avatar": character.avatar}
    if read.kind in ("png", "charx"):
        avatars.write_atomic(originals(instance_path) / f"{character.id}.{read.kind}", blob)
    return Imported(character, None, read.notes)


def _kept_file(instance_path: Path, character: Character, kind: str) -> bytes | None:
    """The imported file, while it still shows this character's picture."""
    card = character.card or {}
    if card.get("kind") != kind or card.get("avatar") != character.avatar:
        return None
    return original(instance_path, character)


def export_png(instance_path: Path, character: Character) -> bytes:
    kept = _kept_file(instance_path, character, "png")
    if kept is not None:
        values = cards.changes(character)
        if not values:
            return kept
        rewritten = {}
        for keyword, root in cardfile.card_chunks(kept).items():
            root = copy.deepcopy(root)
            cards.write(root, cards.flavour(root), values)
            rewritten[keyword] = root
        return cardfile.replace_card_chunks(kept, rewritten)
    out = io.BytesIO()
    _picture(instance_path, character).save(out, "PNG")
    return cardfile.replace_card_chunks(
        out.getvalue(),
        {"chara": cards.export(character, "v2"), "ccv3": cards.export(character, "v3")},
    )


def _picture(instance_path: Path, character: Character) -> Image.Image:
    avatar = avatars.read(avatars.directory(instance_path), character.avatar)
    if avatar:
        with Image.open(io.BytesIO(avatar)) as image:
            return image.convert("RGBA")
    return Image.new("RGBA", (256, 256), (35, 42, 51, 255))


def export_charx(instance_path: Path, character: Character) -> bytes:
    """A CHARX: card.json (V3) and the assets (the imported archive's, or the avatar as icon)."""
    kept = _kept_file(instance_path, character, "charx")
    if kept is not None and not cards.changes(character):
        return kept
    card = cards.export(character, "v3")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if kept is not None:
            with zipfile.ZipFile(io.BytesIO(kept)) as source:
                for entry in source.infolist():
                    if entry.filename != "card.json":
                        archive.writestr(entry, source.read(entry))
        else:
            picture = io.BytesIO()
            _picture(instance_path, character).save(picture, "PNG")
            archive.writestr(ICON_PATH, picture.getvalue())
            assets = card["data"].setdefault("assets", [])
            if not any(isinstance(a, dict) and a.get("type") == "icon" for a in assets):
                assets.append(
                    {"type": "icon", "uri": f"embeded://{ICON_PATH}", "name": "main", "ext": "png"}
                )
        archive.writestr("card.json", json.dumps(card, ensure_ascii=False, indent=2))
    return out.getvalue()
