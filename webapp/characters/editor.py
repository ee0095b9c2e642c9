"""Creating and changing characters: the rules (all violations reported at once), duplicate and
near-duplicate system prompts, and an immutable version for every save."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.characters import lorebook
from webapp.characters.models import Character, CharacterState, CharacterVersion, name_key
from webapp.monitoring import logs

FILTERS = ("profanity", "violence", "adult")
MAX_EXAMPLES = 5
MAX_GREETINGS = 10
MAX_TAGS = 10
# An imported card keeps its own lengths: real cards run to 40,000 characters of definition
# (description, personality, scenario, examples, greetings), 14 greetings and 30 tags.
IMPORTED_MAX_CHARS = 50_000
IMPORTED_MAX_GREETINGS = 50
IMPORTED_MAX_TAGS = 50
NEAR_DUPLICATE = 0.7  # a reworded prompt scored about 0.76 in our tests
# The near-duplicate index reads the start of each definition: the index is refitted on every
# catalogue change, and a catalogue of long imported cards would make that refit slow.
SIMILARITY_CHARS = 4000
# What the model reads of a character (besides the lorebook): the "system configuration" two
# characters may not share.
DEFINITION_FIELDS = (
    "system_prompt",
    "definition",
    "personality",
    "scenario",
    "mes_example",
    "post_history",
)
# The editor's text fields, in the form's order.
TEXT_FIELDS = ("name", "nickname", "description", *DEFINITION_FIELDS, "greeting")
SNAPSHOT_FIELDS = (
    *TEXT_FIELDS,
    "alternate_greetings",
    "temperature",
    "max_length",
    "examples",
    "lorebook",
    "filters",
    "tags",
    "state",
)


class CharacterInvalid(ValueError):
    """Every problem at once: {field: message}."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(str(m) for m in errors.values()))
        self.errors = errors


@dataclass
class Draft:
    """What an editor (or an imported card) proposes; `clean` checks and normalises it."""

    name: str = ""
    description: str = ""  # the catalogue's blurb, for people
    system_prompt: str = ""
    definition: str = ""  # a card's "description": who the character is, for the model
    personality: str = ""
    scenario: str = ""
    mes_example: str = ""  # a card's example dialogue as it came (<START> blocks and all)
    post_history: str = ""  # post-history instructions
    nickname: str = ""
    greeting: str = ""
    alternate_greetings: list[str] = field(default_factory=list)
    temperature: float = 0.8
    max_length: int = 2000
    examples: list[dict[str, str]] = field(default_factory=list)
    lorebook: dict[str, Any] | None = None
    filters: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    state: str = CharacterState.DRAFT
    # An imported card: its own lengths (up to IMPORTED_MAX_CHARS), and no system prompt needed.
    imported: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SNAPSHOT_FIELDS}


@dataclass(frozen=True)
class Similar:
    character_id: int
    name: str
    score: float  # 0..1


def normalise_prompt(text: str) -> str:
    return " ".join(text.split()).casefold()


def definition_text(values: Any) -> str:
    """The whole definition of a draft or character, normalised, as one text; pair examples
    count too. Only what the manager or the card wrote: no text the site fills in."""
    get = (
        values.get
        if isinstance(values, dict)
        else lambda name, default=None: getattr(values, name, default)
    )
    parts = [get(name, "") or "" for name in DEFINITION_FIELDS]
    parts += [f"{e.get('user', '')}\n{e.get('reply', '')}" for e in get("examples", None) or []]
    return normalise_prompt("\n\x1f".join(part for part in parts if part))


def definition_key(values: Any) -> str:
    return hashlib.sha256(definition_text(values).encode()).hexdigest()


def clean(draft: Draft) -> Draft:
    """The draft with trimmed values; CharacterInvalid lists every rule it breaks."""
    errors: dict[str, Any] = {}
    draft.name = " ".join(draft.name.split())
    if not 2 <= len(draft.name) <= 50:
        errors["name"] = _l("Имя: от 2 до 50 символов")
    draft.description = draft.description.strip()
    if len(draft.description) > 500:
        errors["description"] = _l("Описание: не длиннее 500 символов")
    for name in (*DEFINITION_FIELDS, "greeting"):
        setattr(draft, name, getattr(draft, name).strip())
    draft.nickname = " ".join(draft.nickname.split())
    if len(draft.nickname) > 50:
        errors["nickname"] = _l("Короткое имя: не длиннее 50 символов")
    draft.alternate_greetings = [g.strip() for g in draft.alternate_greetings if g.strip()]
    if draft.imported:
        _imported_lengths(draft, errors)
    else:
        _native_lengths(draft, errors)
    if not 0.0 <= draft.temperature <= 2.0:
        errors["temperature"] = _l("Температура: от 0.0 до 2.0")
    if not 100 <= draft.max_length <= 2000:
        errors["max_length"] = _l("Длина ответа: от 100 до 2000 символов")
    draft.examples = [
        {"user": e.get("user", "").strip(), "reply": e.get("reply", "").strip()}
        for e in draft.examples
        if e.get("user", "").strip() or e.get("reply", "").strip()
    ]
    if len(draft.examples) > MAX_EXAMPLES:
        errors["examples"] = _l("Примеры диалогов: не больше %(n)s", n=MAX_EXAMPLES)
    elif any(not e["user"] or not e["reply"] for e in draft.examples):
        errors["examples"] = _l("Примеры диалогов: у каждого нужны реплика и ответ")
    unknown = set(draft.filters) - set(FILTERS)
    if unknown:
        errors["filters"] = _l("Фильтры: неизвестные %(names)s", names=", ".join(sorted(unknown)))
    # A tag keeps the case it was written in; two spellings of one tag are one tag.
    seen: dict[str, str] = {}
    for tag in (" ".join(t.split()) for t in draft.tags):
        if tag:
            seen.setdefault(tag.casefold(), tag)
    draft.tags = list(seen.values())
    most, longest = (IMPORTED_MAX_TAGS, 50) if draft.imported else (MAX_TAGS, 30)
    if len(draft.tags) > most or any(len(t) > longest or "|" in t for t in draft.tags):
        errors["tags"] = _l("Теги: не больше %(n)s, каждый до %(m)s символов", n=most, m=longest)
    if draft.lorebook is not None:
        try:
            draft.lorebook = lorebook.clean(draft.lorebook)
        except lorebook.LorebookInvalid as exc:
            errors["lorebook"] = exc.message
    if draft.state not in {s.value for s in CharacterState}:
        errors["state"] = _l("Состояние: черновик, опубликован или скрыт")
    if errors:
        raise CharacterInvalid(errors)
    return draft


def _native_lengths(draft: Draft, errors: dict[str, Any]) -> None:
    """The specification's limits, for what the editor creates."""
    if not 1 <= len(draft.system_prompt) <= 2000:
        errors["system_prompt"] = _l("Системный промпт: от 1 до 2000 символов")
    for name, label in (
        ("definition", _l("Описание для модели")),
        ("personality", _l("Характер")),
        ("scenario", _l("Сценарий")),
        ("mes_example", _l("Примеры диалога в формате карточки")),
        ("post_history", _l("Инструкции после истории")),
        ("greeting", _l("Приветствие")),
    ):
        if len(getattr(draft, name)) > 2000:
            errors[name] = _l("%(label)s: не длиннее 2000 символов", label=label)
    if len(draft.alternate_greetings) > MAX_GREETINGS or any(
        len(g) > 2000 for g in draft.alternate_greetings
    ):
        errors["alternate_greetings"] = _l(
            "Другие приветствия: не больше %(n)s, каждое до 2000 символов", n=MAX_GREETINGS
        )


def _imported_lengths(draft: Draft, errors: dict[str, Any]) -> None:
    """A card's own lengths, within one cap on the whole definition."""
    if not (draft.system_prompt or draft.definition):
        errors["definition"] = _l("Описание для модели: нужно оно или системный промпт")
    if len(draft.alternate_greetings) > IMPORTED_MAX_GREETINGS:
        errors["alternate_greetings"] = _l(
            "Другие приветствия: не больше %(n)s", n=IMPORTED_MAX_GREETINGS
        )
    total = sum(len(getattr(draft, name)) for name in (*DEFINITION_FIELDS, "greeting"))
    total += sum(len(g) for g in draft.alternate_greetings)
    if total > IMPORTED_MAX_CHARS:
        errors["definition"] = _l(
            "Определение персонажа: всего не больше %(n)s символов (сейчас %(total)s)",
            n=f"{IMPORTED_MAX_CHARS:,}".replace(",", " "),
            total=f"{total:,}".replace(",", " "),
        )


def check_unique(session: Session, draft: Draft, character_id: int | None) -> None:
    """The name (ignoring case, spaces, ё/е) and the whole definition (the specification's
    "identical system configuration") must be new."""
    errors: dict[str, Any] = {}
    others = select(Character.name).where(Character.id != (character_id or 0))
    if session.scalar(others.where(Character.name_key == name_key(draft.name))):
        errors["name"] = _l("Имя: такой персонаж уже есть")
    twin = session.scalar(others.where(Character.definition_key == definition_key(draft)).limit(1))
    if twin is not None:
        field_name = "definition" if draft.imported else "system_prompt"
        errors[field_name] = _l(
            "Определение персонажа (промпт, описание, характер, сценарий, примеры): "
            "такое же уже у «%(name)s»",
            name=twin,
        )
    if errors:
        raise CharacterInvalid(errors)


_index_cache: dict[str, Any] = {}


def _prompt_index(session: Session) -> dict[str, Any] | None:
    """TF-IDF (character 2-4-grams) of every definition, rebuilt only when characters change:
    a check then costs one query and one sparse product, not a fit over the whole catalogue."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    count, newest = session.execute(select(func.count(), func.max(Character.updated_at))).one()
    signature = f"{count}:{newest}"
    if _index_cache.get("signature") == signature:
        return _index_cache["index"]
    rows = session.execute(
        select(Character.id, Character.name, *(getattr(Character, f) for f in DEFINITION_FIELDS))
    ).all()
    index = None
    if rows:
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))
        matrix = vectorizer.fit_transform(
            [definition_text(row._mapping)[:SIMILARITY_CHARS] for row in rows]
        )
        index = {
            "ids": [row.id for row in rows],
            "names": [row.name for row in rows],
            "vectorizer": vectorizer,
            "matrix": matrix,
        }
    _index_cache.update(signature=signature, index=index)
    return index


def most_similar(session: Session, draft: Draft, character_id: int | None) -> Similar | None:
    """The other character whose definition is closest (cosine of TF-IDF vectors)."""
    index = _prompt_index(session)
    if index is None:
        return None
    query = index["vectorizer"].transform([definition_text(draft)[:SIMILARITY_CHARS]])
    scores = (index["matrix"] @ query.T).toarray().ravel()  # rows are L2-normalised
    best = None
    for position in scores.argsort()[::-1]:
        if index["ids"][position] != character_id:
            best = int(position)
            break
    if best is None:
        return None
    return Similar(index["ids"][best], index["names"][best], float(scores[best]))


def save(
    session: Session,
    draft: Draft,
    *,
    author_id: int | None,
    now: datetime,
    character: Character | None = None,
    confirm_similar: bool = False,
    keep_state: bool = False,
) -> tuple[Character, Similar | None]:
    """Create or update a character and record a version.

    A near-duplicate prompt (>= 70% similar) is only saved with confirm_similar; otherwise the
    similar character comes back and nothing is written. Every broken rule is reported at once.
    With keep_state (a moderator hid it and the author ranks lower) the state cannot change.
    """
    character_id = character.id if character else None
    errors: dict[str, Any] = {}
    if keep_state and character is not None and draft.state != character.state:
        errors["state"] = _l(
            "Состояние: персонажа скрыл модератор, вернуть его в каталог может только модератор"
        )
    for check in (lambda: clean(draft), lambda: check_unique(session, draft, character_id)):
        try:
            check()
        except CharacterInvalid as exc:
            errors = {**exc.errors, **errors}  # the rules' own message wins for a field
    if errors:
        raise CharacterInvalid(errors)
    similar = most_similar(session, draft, character_id)
    if similar and similar.score >= NEAR_DUPLICATE and not confirm_similar:
        return character, similar  # type: ignore[return-value]
    created = character is None
    if character is None:
        character = Character(created_at=now)
        session.add(character)
    _apply(character, draft.as_dict(), now)
    _record_version(session, character, author_id, now)
    logs.business(
        session,
        "character_created" if created else "character_changed",
        user_id=author_id,
        character=character.id,
        version=character.version,
        state=character.state,
    )
    return character, None


def draft_of(character: Character) -> Draft:
    """A draft of the character as it is now (to change one part of it)."""
    return Draft(
        **{name: copy.deepcopy(getattr(character, name)) for name in SNAPSHOT_FIELDS},
        imported=character.card is not None,
    )


def _apply(character: Character, data: dict[str, Any], now: datetime) -> None:
    for name in SNAPSHOT_FIELDS:
        setattr(character, name, data[name])
    character.name_key = name_key(character.name)
    character.definition_key = definition_key(character)
    tags = [name_key(tag) for tag in character.tags]  # as the catalogue folds a query
    character.tags_text = "|" + "|".join(tags) + "|" if tags else ""
    character.updated_at = now


def _record_version(
    session: Session, character: Character, author_id: int | None, now: datetime
) -> None:
    session.flush()
    previous = session.scalar(
        select(CharacterVersion)
        .where(CharacterVersion.character_id == character.id)
        .order_by(CharacterVersion.number.desc())
        .limit(1)
    )
    data = {name: getattr(character, name) for name in SNAPSHOT_FIELDS}
    before = _lines(previous.data) if previous else []
    diff = "\n".join(difflib.unified_diff(before, _lines(data), "было", "стало", lineterm="", n=1))
    number = (previous.number if previous else 0) + 1
    session.add(
        CharacterVersion(
            character_id=character.id,
            number=number,
            data=data,
            diff=diff,
            author_id=author_id,
            created_at=now,
        )
    )
    character.version = number
    session.flush()


def _lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for name in SNAPSHOT_FIELDS:
        value = data[name]
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines += [f"{name}: {line}" for line in re.split(r"\n", str(text))]
    return lines


def versions(session: Session, character_id: int) -> list[CharacterVersion]:
    return list(
        session.scalars(
            select(CharacterVersion)
            .where(CharacterVersion.character_id == character_id)
            .order_by(CharacterVersion.number.desc())
        )
    )


def roll_back(
    session: Session,
    character: Character,
    number: int,
    *,
    author_id: int,
    now: datetime,
    keep_state: bool = False,
) -> Character:
    """Make version `number` current again, as a new version (with keep_state, in its present
    state: a moderator hid it and the author ranks lower)."""
    old = session.scalar(
        select(CharacterVersion).where(
            CharacterVersion.character_id == character.id, CharacterVersion.number == number
        )
    )
    if old is None:
        raise CharacterInvalid({"version": _l("Версия не найдена")})
    # A field an older snapshot did not have yet keeps its present value.
    draft = Draft(**{**draft_of(character).as_dict(), **old.data})
    draft.imported = character.card is not None
    if keep_state:
        draft.state = character.state
    clean(draft)
    check_unique(session, draft, character.id)
    _apply(character, draft.as_dict(), now)
    _record_version(session, character, author_id, now)
    logs.business(
        session,
        "character_rolled_back",
        user_id=author_id,
        character=character.id,
        restored=number,
        version=character.version,
    )
    return character
