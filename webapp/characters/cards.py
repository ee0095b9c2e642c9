"""Community character cards (V1, V2 "chara_card_v2", V3 "chara_card_v3"), as JSON or as a PNG
with the card in tEXt chunks ("chara": V2, "ccv3": V3, base64 JSON).

Import maps the card onto our fields and keeps the card itself (every field, lorebook and
extensions); export starts from that card and writes back only what was changed here, so an
unchanged character exports as an equivalent card.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from webapp.characters.editor import CharacterInvalid, Draft

MAX_CARD_BYTES = 2 * 1024 * 1024
DEFAULT_PROMPT = "Ты — {{char}}. Отвечай от лица персонажа и оставайся в образе."
ORIGINAL = "{{original}}"
START = "<START>"


class CardInvalid(CharacterInvalid):
    pass


def read_card(blob: bytes) -> dict[str, Any]:
    """The card JSON inside a .json or .png file (V3 preferred over V2 in a PNG)."""
    if len(blob) > MAX_CARD_BYTES:
        raise CardInvalid({"file": _l("Файл карточки: больше 2 МБ")})
    if blob.startswith(b"\x89PNG"):
        try:
            with Image.open(io.BytesIO(blob)) as image:
                chunks = dict(getattr(image, "text", {}) or {})
        except (UnidentifiedImageError, OSError):
            raise CardInvalid({"file": _l("Файл карточки: PNG не читается")}) from None
        encoded = chunks.get("ccv3") or chunks.get("chara")
        if not encoded:
            raise CardInvalid({"file": _l("Файл карточки: в PNG нет карточки персонажа")})
        try:
            blob = base64.b64decode(encoded)
        except ValueError:
            raise CardInvalid({"file": _l("Файл карточки: повреждённые данные в PNG")}) from None
    try:
        card = json.loads(blob.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise CardInvalid({"file": _l("Файл карточки: это не JSON и не PNG с карточкой")}) from None
    if not isinstance(card, dict):
        raise CardInvalid({"file": _l("Файл карточки: ожидался объект JSON")})
    return card


def card_data(card: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(spec, data): V2/V3 keep fields under "data"; V1 is flat."""
    spec = card.get("spec", "")
    if spec in ("chara_card_v2", "chara_card_v3") and isinstance(card.get("data"), dict):
        return spec, card["data"]
    return "chara_card_v1", card


def parse_examples(text: str) -> list[dict[str, str]]:
    """mes_example: <START> blocks of "{{user}}: ..." / "{{char}}: ..." lines -> pairs."""
    pairs = []
    for block in text.split(START):
        user_line = reply = None
        for line in block.strip().splitlines():
            match = re.match(r"\s*\{\{(user|char)\}\}:\s*(.*)", line)
            if not match:
                if reply is not None:
                    reply += "\n" + line
                continue
            if match.group(1) == "user":
                if user_line is not None and reply is not None:
                    pairs.append({"user": user_line, "reply": reply.strip()})
                user_line, reply = match.group(2), None
            else:
                reply = match.group(2) if reply is None else reply + "\n" + match.group(2)
        if user_line is not None and reply is not None:
            pairs.append({"user": user_line, "reply": reply.strip()})
    return pairs


def format_examples(examples: list[dict[str, str]]) -> str:
    return "\n".join(
        f"{START}\n{{{{user}}}}: {e['user']}\n{{{{char}}}}: {e['reply']}" for e in examples
    )


def to_draft(card: dict[str, Any]) -> tuple[Draft, dict[str, Any]]:
    """The editor draft for a card and what to keep of the card."""
    spec, data = card_data(card)

    def text(name: str) -> str:
        value = data.get(name, "")
        return value if isinstance(value, str) else ""

    prompt = text("system_prompt").replace(ORIGINAL, DEFAULT_PROMPT) or DEFAULT_PROMPT
    tags = data.get("tags") if isinstance(data.get("tags"), list) else []
    greetings = data.get("alternate_greetings")
    draft = Draft(
        name=text("name"),
        description=text("description"),
        system_prompt=prompt,
        greeting=text("first_mes"),
        alternate_greetings=[g for g in greetings if isinstance(g, str)]
        if isinstance(greetings, list)
        else [],
        examples=parse_examples(text("mes_example")),
        tags=[t for t in tags if isinstance(t, str)],
        state="draft",
    )
    kept = {"spec": spec, "card": copy.deepcopy(card), "mapped": _mapped(draft)}
    return draft, kept


def _mapped(draft: Draft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "description": draft.description,
        "system_prompt": draft.system_prompt,
        "greeting": draft.greeting,
        "alternate_greetings": list(draft.alternate_greetings),
        "examples": list(draft.examples),
        "tags": list(draft.tags),
    }


def export(character: Any, spec: str = "chara_card_v2") -> dict[str, Any]:
    """The card for a character: its imported card with our changes written in, or a new one."""
    kept = character.card or {}
    base = copy.deepcopy(kept.get("card") or {})
    _, data = card_data(base) if base else ("", {})
    data = dict(data)
    mapped = kept.get("mapped") or {}
    current = {
        "name": character.name,
        "description": character.description,
        "system_prompt": character.system_prompt,
        "greeting": character.greeting,
        "alternate_greetings": list(character.alternate_greetings or []),
        "examples": list(character.examples or []),
        "tags": list(character.tags or []),
    }
    fields = {
        "name": ("name", lambda v: v),
        "description": ("description", lambda v: v),
        "system_prompt": ("system_prompt", lambda v: v.replace(DEFAULT_PROMPT, ORIGINAL)),
        "greeting": ("first_mes", lambda v: v),
        "alternate_greetings": ("alternate_greetings", lambda v: v),
        "examples": ("mes_example", format_examples),
        "tags": ("tags", lambda v: v),
    }
    for ours, (theirs, convert) in fields.items():
        if ours not in mapped or mapped[ours] != current[ours] or theirs not in data:
            data[theirs] = convert(current[ours])
    for name, default in (
        ("personality", ""),
        ("scenario", ""),
        ("creator_notes", ""),
        ("post_history_instructions", ""),
        ("creator", ""),
        ("character_version", str(character.version)),
        ("extensions", {}),
    ):
        data.setdefault(name, default)
    if spec == "chara_card_v3":
        data.setdefault("group_only_greetings", [])
        return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}


def export_json(character: Any, spec: str = "chara_card_v2") -> str:
    return json.dumps(export(character, spec), ensure_ascii=False, indent=2)


def export_png(character: Any, avatar_png: bytes | None) -> bytes:
    """A PNG (the avatar, or a plain square) carrying the card as V2 "chara" and V3 "ccv3"."""
    if avatar_png:
        with Image.open(io.BytesIO(avatar_png)) as image:
            picture = image.convert("RGBA")
    else:
        picture = Image.new("RGBA", (256, 256), (35, 42, 51, 255))
    info = PngImagePlugin.PngInfo()
    for key, spec in (("chara", "chara_card_v2"), ("ccv3", "chara_card_v3")):
        payload = json.dumps(export(character, spec), ensure_ascii=False).encode()
        info.add_text(key, base64.b64encode(payload).decode())
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info)
    return out.getvalue()
