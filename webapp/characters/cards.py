"""Community character cards: V1 (TavernAI), V2 "chara_card_v2", V3 "chara_card_v3", hybrids
that mirror V1 fields at the root, and the Pygmalion/oobabooga JSON (`char_name`, ...).

Import maps a card onto the character's fields (characters.story says how the model reads them)
and keeps the card root as it came. Export starts from that root and writes back only the
fields that differ from what the card itself gives, so an unchanged character exports as the
very card it was (unknown keys, the V1 mirror, extensions, tag case and all); in another format
the same data is carried over. The catalogue's blurb is ours, never written into a card.
"""

from __future__ import annotations

import copy
import html
import json
import re
from typing import Any

from flask_babel import lazy_gettext as _l

from webapp.characters import editor
from webapp.characters.cardfile import CardInvalid
from webapp.characters.editor import Draft

V2, V3 = "chara_card_v2", "chara_card_v3"
BLURB_MAX = 500
# our field -> the card's key (V1/V2/V3 data)
CARD_KEYS = {
    "name": "name",
    "definition": "description",
    "personality": "personality",
    "scenario": "scenario",
    "system_prompt": "system_prompt",
    "post_history": "post_history_instructions",
    "greeting": "first_mes",
    "mes_example": "mes_example",
    "alternate_greetings": "alternate_greetings",
    "tags": "tags",
    "lorebook": "character_book",
    "nickname": "nickname",
}
PYGMALION_KEYS = {
    "name": "char_name",
    "definition": "char_persona",
    "greeting": "char_greeting",
    "scenario": "world_scenario",
    "mes_example": "example_dialogue",
}
MAPPED = tuple(CARD_KEYS)
V3_ONLY = (
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
    "assets",
)


def flavour(card: dict[str, Any]) -> str:
    """ "v3" | "v2" | "v1" | "pygmalion"; CardInvalid for what is no character card."""
    spec = card.get("spec")
    if spec in (V2, V3) and isinstance(card.get("data"), dict):
        return "v3" if spec == V3 else "v2"
    if isinstance(card.get("char_name"), str):
        return "pygmalion"
    if isinstance(card.get("name"), str):
        return "v1"
    if "entries" in card:
        raise CardInvalid(
            _l(
                "Файл карточки: это лорбук (World Info), а не карточка персонажа — добавьте его "
                "на странице «Лорбук» персонажа"
            )
        )
    raise CardInvalid(_l("Файл карточки: в нём нет персонажа (нет поля name)"))


def _data(card: dict[str, Any], kind: str) -> dict[str, Any]:
    return card["data"] if kind in ("v2", "v3") else card


def _keys(kind: str) -> dict[str, str]:
    return PYGMALION_KEYS if kind == "pygmalion" else CARD_KEYS


def to_draft(card: dict[str, Any]) -> Draft:
    """The editor's draft of a card (the editor's rules then check it)."""
    kind = flavour(card)
    data = _data(card, kind)
    values: dict[str, Any] = {}
    for ours, theirs in _keys(kind).items():
        value = data.get(theirs)
        if ours in ("alternate_greetings", "tags"):
            values[ours] = (
                [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
            )
        elif ours == "lorebook":
            values[ours] = value if isinstance(value, dict) else None
        else:
            values[ours] = value if isinstance(value, str) else ""
    name = " ".join(values["name"].split())
    if len(name) > 50:  # WyvernChat titles: "Aira || Sweet Hydromancer Friend ..."
        name = _cut(name.split("||")[0].strip(), 50)
    notes = data.get("creator_notes")
    return Draft(
        **{**values, "name": name},
        description=blurb(notes if isinstance(notes, str) else "", values["definition"], name),
        state="draft",
        imported=True,
    )


def blurb(notes: str, definition: str, name: str) -> str:
    """The catalogue's line for people: the creator's notes as plain text, or else the start of
    the description, within 500 characters."""
    text = _plain(notes)
    if len(text) < 20:
        text = _plain(definition)
    text = text.replace("{{char}}", name).replace("{{user}}", "вы")
    return _cut(text, BLURB_MAX)


def _plain(text: str) -> str:
    text = re.sub(r"(?is)<(style|script)\b.*?</\1\s*>", " ", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)  # markdown images
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # markdown links: their text
    text = re.sub(r"(?s)<[^>]*>", " ", text)
    text = re.sub(r"(?m)^\s*#+\s*", "", text)
    return " ".join(html.unescape(text).split())


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head[limit // 2 :]:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,.;:—-") + "…"


def current(character: Any) -> dict[str, Any]:
    return {name: copy.deepcopy(getattr(character, name)) for name in MAPPED}


def derived(card: dict[str, Any]) -> dict[str, Any]:
    """What import makes of a card, field by field (what export compares against)."""
    try:
        return editor.clean(to_draft(card)).as_dict()
    except editor.CharacterInvalid:
        return {}


def changes(character: Any) -> dict[str, Any]:
    """Our fields that differ from what the character's own card gives (all for a native one)."""
    now = current(character)
    card = (character.card or {}).get("card")
    if not card:
        return now
    base = derived(card)
    return {name: value for name, value in now.items() if base.get(name, object()) != value}


def write(card: dict[str, Any], kind: str, values: dict[str, Any]) -> None:
    """Put our values into a card in its own format (a hybrid's root mirror too)."""
    data = _data(card, kind)
    keys = _keys(kind)
    for ours, value in values.items():
        theirs = keys.get(ours) or CARD_KEYS[ours]
        if ours == "lorebook" and value is None:
            if data.get(theirs) is not None:
                data.pop(theirs)
            continue
        data[theirs] = copy.deepcopy(value)
        if kind in ("v2", "v3") and theirs in card and ours != "lorebook":
            card[theirs] = copy.deepcopy(value)  # the V1 mirror of a hybrid


def export(character: Any, target: str | None = None) -> dict[str, Any]:
    """The character's card: in its own format by default, or "v2" / "v3"."""
    original = (character.card or {}).get("card")
    source = flavour(original) if original else None
    target = target or (source if source in ("v2", "v3", "v1", "pygmalion") else "v2")
    values = changes(character)
    if original and target == source:
        card = copy.deepcopy(original)
        write(card, source, values)
        return card
    if original and source in ("v2", "v3"):
        root = copy.deepcopy(original)
        write(root, source, values)  # the data and a hybrid's root mirror
        data = root.pop("data")
    else:
        root = {}
        if original and source == "v1":  # a V1 card becomes a hybrid, its root kept
            root = copy.deepcopy(original)
            write(root, "v1", values)
        data = _new_data(character, original, source)
    if target == "v3":
        data.setdefault("group_only_greetings", [])
        data.setdefault("nickname", "")
    else:
        for name in V3_ONLY:
            data.pop(name, None)
    spec, version = (V3, "3.0") if target == "v3" else (V2, "2.0")
    return {**root, "spec": spec, "spec_version": version, "data": data}


def _new_data(
    character: Any, original: dict[str, Any] | None, source: str | None
) -> dict[str, Any]:
    """V2 data for a native character or a V1/Pygmalion card: every field from ours."""
    values = current(character)
    data = {CARD_KEYS[name]: value for name, value in values.items() if name != "lorebook"}
    if values["lorebook"] is not None:
        data["character_book"] = values["lorebook"]
    if not original:
        pairs = "\n".join(
            f"<START>\n{{{{user}}}}: {e['user']}\n{{{{char}}}}: {e['reply']}"
            for e in character.examples or []
        )
        data["mes_example"] = "\n".join(p for p in (pairs, data["mes_example"]) if p)
        data["creator_notes"] = character.description
    else:
        legacy = _data(original, source)
        data["creator_notes"] = legacy.get("creator_notes", "")
    data.setdefault("creator", "")
    data["character_version"] = str(character.version)
    data["extensions"] = {}
    return data


def export_json(character: Any, target: str | None = None) -> str:
    return json.dumps(export(character, target), ensure_ascii=False, indent=2)
