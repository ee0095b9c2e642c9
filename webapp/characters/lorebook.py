"""A character's lorebook (a card's `character_book`, SillyTavern's world info): entries whose keys
appear in the last messages are put into the prompt.

The book is stored as the card had it (every key kept, for a lossless export) and read here on
each prompt. An entry activates when one of its keys is in the scanned text (the last
`scan_depth` messages): plain keys match as substrings (whole words where the entry asks), a key
written /like this/i or any key of a `use_regex` entry is a regular expression. A selective entry
also needs its secondary keys, by its logic (AND ANY, AND ALL, NOT ANY, NOT ALL). Constant
entries are always in. Activated entries are scanned again for other entries' keys (recursion,
at most MAX_RECURSION rounds) when the book asks for it. Then the token budget keeps the constant
and the higher-priority entries, and each goes to its place: before or after the character's
definition, or at a depth in the history. V3 decorators at the start of an entry's content
(`@@depth 2`, `@@position after_desc`, `@@activate_only_after 3`, `@@dont_activate`, ...) change
this for that entry.

SillyTavern's numbers are followed where a card is silent: scan depth 2, insertion depth 4.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_ENTRIES = 500
MAX_CONTENT_CHARS = 200_000
MAX_KEY_CHARS = 500
MAX_RECURSION = 3
DEFAULT_SCAN_DEPTH = 2
DEFAULT_DEPTH = 4
DEFAULT_BUDGET_TOKENS = 1024
MAX_BUDGET_TOKENS = 2048  # whatever a card asks: the rest of the context is the dialog's
CHARS_PER_TOKEN = 2.0  # as chat.replies guesses for Russian text
BEFORE, AFTER, DEPTH = "before_char", "after_char", "depth"
# SillyTavern's numeric positions (0 before, 1 after the character; 2-3 author's note, 5-6 the
# examples, 4 at a depth): the author's note and examples ones go where they are nearest.
ST_POSITIONS = {0: BEFORE, 1: AFTER, 2: BEFORE, 3: AFTER, 4: DEPTH, 5: BEFORE, 6: AFTER}
DECORATOR_POSITIONS = {
    "before_desc": BEFORE,
    "after_desc": AFTER,
    "personality": AFTER,
    "scenario": AFTER,
}
LOGIC = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}


class LorebookInvalid(ValueError):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def clean(book: Any) -> dict[str, Any]:
    """A book fit to keep: a dict whose entries are dicts with text content and string keys,
    within the limits. Returned as it came otherwise (unknown keys are the card's)."""
    if not isinstance(book, dict) or not isinstance(book.get("entries", []), list):
        raise LorebookInvalid(_l("Лорбук: ожидался объект со списком записей"))
    entries = book.get("entries", [])
    if len(entries) > MAX_ENTRIES:
        raise LorebookInvalid(_l("Лорбук: не больше %(n)s записей", n=MAX_ENTRIES))
    total = 0
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("content", ""), str):
            raise LorebookInvalid(_l("Лорбук: запись %(n)s без текста", n=number))
        keys = [*_list(entry.get("keys")), *_list(entry.get("secondary_keys"))]
        if any(not isinstance(key, str) or len(key) > MAX_KEY_CHARS for key in keys):
            raise LorebookInvalid(
                _l(
                    "Лорбук: ключи записи %(n)s — строки до %(m)s символов",
                    n=number,
                    m=MAX_KEY_CHARS,
                )
            )
        if any(_risky(entry, key) for key in keys):
            raise LorebookInvalid(
                _l(
                    "Лорбук: ключ записи %(n)s — регулярное выражение с повтором внутри повтора "
                    "(вроде «(a+)+»): такие могут зависнуть на длинном сообщении",
                    n=number,
                )
            )
        total += len(entry.get("content", ""))
    if total > MAX_CONTENT_CHARS:
        raise LorebookInvalid(
            _l(
                "Лорбук: всего не больше %(n)s символов текста",
                n=f"{MAX_CONTENT_CHARS:,}".replace(",", " "),
            )
        )
    return book


# A quantified group that itself repeats ("(a+)+", "(x*)*", "(.+){2,}"): the pattern can take
# exponential time on a long message, and a reply is built in the web process.
NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*[+*{]")


def _risky(entry: dict[str, Any], key: str) -> bool:
    literal = re.fullmatch(r"/(.+)/([imsux]*)", key, re.DOTALL)
    pattern = literal.group(1) if literal else key if entry.get("use_regex") else None
    return pattern is not None and bool(NESTED_REPEAT.search(pattern))


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Entry:
    number: int
    name: str
    content: str
    keys: tuple[str, ...] = ()
    secondary: tuple[str, ...] = ()
    logic: str = "and_any"
    selective: bool = False
    constant: bool = False
    order: int = 100
    priority: int = 0
    position: str = AFTER
    depth: int = DEFAULT_DEPTH
    case_sensitive: bool = False
    whole_words: bool = False
    regex: bool = False
    scan_depth: int | None = None
    activate_only_after: int = 0
    activate_only_every: int = 0
    never: bool = False  # @@dont_activate
    exclude_recursion: bool = False
    prevent_recursion: bool = False


@dataclass(frozen=True)
class Book:
    entries: tuple[Entry, ...]
    scan_depth: int = DEFAULT_SCAN_DEPTH
    budget_tokens: int = DEFAULT_BUDGET_TOKENS
    recursive: bool = False


@dataclass
class Activation:
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    at_depth: list[tuple[int, str]] = field(default_factory=list)  # (depth, text), in order
    names: list[str] = field(default_factory=list)  # what activated, for the editor's test

    def __bool__(self) -> bool:
        return bool(self.names)


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None and value != "" else default
    except (TypeError, ValueError):
        return default


def _bool(value: Any, default: bool = False) -> bool:
    return default if value is None else bool(value)


def parse(book: dict[str, Any] | None) -> Book:
    """The book as the activation rules read it, whatever dialect of world info it is in."""
    if not book:
        return Book(())
    entries = []
    # WyvernChat exports keep most of a book in a `lexicon` list of entries of the same shape.
    for number, raw in enumerate([*_list(book.get("entries")), *_list(book.get("lexicon"))], 1):
        if not isinstance(raw, dict) or not _bool(raw.get("enabled"), True) or raw.get("disable"):
            continue
        entries.append(_entry(number, raw))
    budget = _int(book.get("token_budget"), DEFAULT_BUDGET_TOKENS) or DEFAULT_BUDGET_TOKENS
    return Book(
        tuple(entries),
        scan_depth=max(_int(book.get("scan_depth"), DEFAULT_SCAN_DEPTH), 0),
        budget_tokens=min(budget, MAX_BUDGET_TOKENS),
        recursive=_bool(book.get("recursive_scanning")),
    )


def _entry(number: int, raw: dict[str, Any]) -> Entry:
    ext = raw.get("extensions") if isinstance(raw.get("extensions"), dict) else {}
    content, decorators = _decorators(raw.get("content") or "")
    position = ext.get("position")
    if isinstance(position, int) and position in ST_POSITIONS:
        place = ST_POSITIONS[position]
    else:
        place = BEFORE if raw.get("position") == BEFORE else AFTER
    logic = raw.get("key_logic", ext.get("selectiveLogic", raw.get("selectiveLogic")))
    depth = _int(ext.get("depth"), DEFAULT_DEPTH)
    if "depth" in decorators:
        place, depth = DEPTH, _int(decorators["depth"], depth)
    if decorators.get("position") in DECORATOR_POSITIONS:
        place = DECORATOR_POSITIONS[decorators["position"]]
    whole = ext.get("match_whole_words", raw.get("whole_words_only"))
    return Entry(
        number=number,
        name=str(raw.get("name") or raw.get("comment") or _first(raw) or number),
        content=content,
        keys=tuple(
            k for k in _list(raw.get("keys", raw.get("key"))) if isinstance(k, str) and k.strip()
        ),
        secondary=tuple(
            k
            for k in _list(raw.get("secondary_keys", raw.get("keysecondary")))
            if isinstance(k, str) and k.strip()
        ),
        logic=_logic(logic),
        selective=_bool(raw.get("selective")),
        constant=_bool(raw.get("constant")) or "activate" in decorators,
        order=_int(raw.get("insertion_order", raw.get("order")), 100),
        priority=_int(raw.get("priority"), 0),
        position=place,
        depth=max(depth, 0),
        case_sensitive=_bool(raw.get("case_sensitive", ext.get("case_sensitive"))),
        whole_words=_bool(whole),
        regex=_bool(raw.get("use_regex")),
        scan_depth=_int(decorators.get("scan_depth", ext.get("scan_depth")), -1)
        if ("scan_depth" in decorators or ext.get("scan_depth") is not None)
        else None,
        activate_only_after=_int(decorators.get("activate_only_after"), 0),
        activate_only_every=_int(decorators.get("activate_only_every"), 0),
        never="dont_activate" in decorators,
        exclude_recursion=_bool(ext.get("exclude_recursion", raw.get("excludeRecursion"))),
        prevent_recursion=_bool(ext.get("prevent_recursion", raw.get("preventRecursion"))),
    )


def _logic(value: Any) -> str:
    """SillyTavern's number or a name ("AND_ANY", WyvernChat's key_logic) -> our name."""
    if isinstance(value, int) and not isinstance(value, bool):
        return LOGIC.get(value, "and_any")
    if isinstance(value, str) and value.lower() in LOGIC.values():
        return value.lower()
    return "and_any"


def _first(raw: dict[str, Any]) -> str:
    keys = _list(raw.get("keys", raw.get("key")))
    return keys[0] if keys and isinstance(keys[0], str) else ""


DECORATOR = re.compile(r"@@(\w+)[ \t]*([^\n]*)")


def _decorators(content: str) -> tuple[str, dict[str, str]]:
    """A V3 entry's leading @@decorator lines, taken off its content."""
    found: dict[str, str] = {}
    lines = content.split("\n")
    while lines and lines[0].startswith("@@") and not lines[0].startswith("@@@"):
        match = DECORATOR.match(lines.pop(0))
        if match:
            found[match.group(1).lower()] = match.group(2).strip()
    return "\n".join(lines).strip() if found else content.strip(), found


class Scan:
    """Text to look for keys in, with its casefolded form made once: a plain key is a substring
    test (fast), only patterns and whole words go through the regex engine."""

    __slots__ = ("_folded", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._folded: str | None = None

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = self.text.casefold()
        return self._folded


@lru_cache(maxsize=4096)
def _matcher(key: str, case_sensitive: bool, whole_words: bool, regex: bool):
    """A test of one key against a Scan (cached: a book's keys are few and prompts many)."""
    flags = 0 if case_sensitive else re.IGNORECASE
    literal = re.fullmatch(r"/(.+)/([imsux]*)", key, re.DOTALL)
    try:
        if literal:
            for letter in literal.group(2):
                flags |= {"i": re.I, "m": re.M, "s": re.S, "u": 0, "x": re.X}[letter]
            search = re.compile(literal.group(1), flags).search
            return lambda scan: search(scan.text) is not None
        if regex:
            search = re.compile(key, flags).search
            return lambda scan: search(scan.text) is not None
    except re.error:
        return lambda scan: False  # a broken pattern matches nothing rather than failing a reply
    plain = key.strip()
    if whole_words and re.fullmatch(r"\w+", plain):
        search = re.compile(rf"(?<!\w){re.escape(plain)}(?!\w)", flags).search
        return lambda scan: search(scan.text) is not None
    if case_sensitive:
        return lambda scan: plain in scan.text
    folded = plain.casefold()
    return lambda scan: folded in scan.folded


def _hit(entry: Entry, keys: tuple[str, ...], scan: Scan) -> list[bool]:
    return [
        _matcher(key, entry.case_sensitive, entry.whole_words, entry.regex)(scan) for key in keys
    ]


def _matches(entry: Entry, scan: Scan) -> bool:
    if not any(
        _matcher(k, entry.case_sensitive, entry.whole_words, entry.regex)(scan) for k in entry.keys
    ):
        return False
    if not (entry.selective and entry.secondary):
        return True
    found = _hit(entry, entry.secondary, scan)
    return {
        "and_any": any(found),
        "and_all": all(found),
        "not_any": not any(found),
        "not_all": not all(found),
    }.get(entry.logic, any(found))


def activate(book: Book, messages: list[str], *, turn: int | None = None) -> Activation:
    """What the book puts into a prompt for these messages (oldest first); `turn` is how many
    messages the dialog has (for @@activate_only_after / _every; None: all count)."""
    turn = len(messages) if turn is None else turn
    chosen: dict[int, Entry] = {}
    candidates = []
    for entry in book.entries:
        if entry.never or (entry.activate_only_after and turn < entry.activate_only_after):
            continue
        if entry.activate_only_every and turn % entry.activate_only_every:
            continue
        if entry.constant:
            chosen[entry.number] = entry
        elif entry.keys:
            candidates.append(entry)
    texts: dict[int, Scan] = {}

    def scanned(depth: int | None) -> Scan:
        depth = book.scan_depth if depth is None or depth < 0 else depth
        if depth not in texts:
            texts[depth] = Scan("\n".join(messages[-depth:]) if depth else "")
        return texts[depth]

    for entry in candidates:
        if _matches(entry, scanned(entry.scan_depth)):
            chosen[entry.number] = entry
    if book.recursive:
        fresh = list(chosen.values())
        for _ in range(MAX_RECURSION):
            text = Scan("\n".join(e.content for e in fresh if not e.prevent_recursion))
            fresh = [
                entry
                for entry in candidates
                if entry.number not in chosen
                and not entry.exclude_recursion
                and _matches(entry, text)
            ]
            if not fresh:
                break
            chosen.update((entry.number, entry) for entry in fresh)
    return _place(book, chosen.values())


def reserve(book: Book) -> int:
    """Characters of the prompt the book may take (its budget), 0 for no book."""
    return int(book.budget_tokens * CHARS_PER_TOKEN) if book.entries else 0


def _place(book: Book, chosen) -> Activation:
    """The budget (constant entries first, then by priority and order), then each to its place
    in insertion order."""
    budget = book.budget_tokens * CHARS_PER_TOKEN
    kept = []
    for entry in sorted(chosen, key=lambda e: (not e.constant, -e.priority, -e.order, e.number)):
        if not entry.content:
            continue
        if len(entry.content) > budget:
            continue
        budget -= len(entry.content)
        kept.append(entry)
    activation = Activation()
    for entry in sorted(kept, key=lambda e: (e.order, e.number)):
        activation.names.append(entry.name)
        if entry.position == BEFORE:
            activation.before.append(entry.content)
        elif entry.position == DEPTH:
            activation.at_depth.append((entry.depth, entry.content))
        else:
            activation.after.append(entry.content)
    return activation


# Editing a book in the manager's form: each entry is shown as these values and written back
# field by field, only where the manager changed something, so every key the card had (its
# extensions, ids, a tool's own fields) survives an edit.
FORM_POSITIONS = (BEFORE, AFTER, DEPTH)
LOGIC_NUMBERS = {name: number for number, name in LOGIC.items()}
LIMITS = {"depth": (0, 1000), "order": (-100_000, 100_000), "priority": (-100_000, 100_000)}
BOOK_LIMITS = {"scan_depth": (0, 1000), "token_budget": (0, 100_000)}
BOOK_KEYS = {
    "scan_depth": "scan_depth",
    "token_budget": "token_budget",
    "recursive": "recursive_scanning",
}
FIELD_LABELS = {
    "scan_depth": _l("сколько последних сообщений просматривать"),
    "token_budget": _l("бюджет токенов"),
    "depth": _l("глубина"),
    "order": _l("порядок вставки"),
    "priority": _l("приоритет"),
}


def entry_values(raw: dict[str, Any]) -> dict[str, Any]:
    """An entry as the editor shows it."""
    parsed = _entry(0, raw)
    return {
        "name": str(raw.get("name") or raw.get("comment") or ""),
        "keys": ", ".join(parsed.keys),
        "secondary_keys": ", ".join(parsed.secondary),
        "logic": parsed.logic,
        "content": raw.get("content") if isinstance(raw.get("content"), str) else "",
        "constant": _bool(raw.get("constant")),
        "enabled": _bool(raw.get("enabled"), True) and not raw.get("disable"),
        "position": parsed.position,
        "depth": parsed.depth,
        "order": parsed.order,
        "priority": parsed.priority,
        "case_sensitive": parsed.case_sensitive,
        "whole_words": parsed.whole_words,
        "regex": parsed.regex,
    }


def book_values(book: dict[str, Any] | None) -> dict[str, Any]:
    parsed = parse(book)
    return {
        "scan_depth": parsed.scan_depth,
        "token_budget": _int((book or {}).get("token_budget"), DEFAULT_BUDGET_TOKENS),
        "recursive": parsed.recursive,
    }


def _keys_of(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def _write_entry(entry: dict[str, Any], name: str, value: Any) -> None:
    ext = entry["extensions"] if isinstance(entry.get("extensions"), dict) else {}
    entry["extensions"] = ext
    if name == "name":
        entry["name"] = value
        if "comment" in entry:
            entry["comment"] = value
    elif name in ("keys", "secondary_keys"):
        entry[name] = _keys_of(value)
        if name == "keys" and "key" in entry:
            entry["key"] = entry["keys"]
        if name == "secondary_keys":
            entry["selective"] = bool(entry[name])
    elif name == "logic":
        ext["selectiveLogic"] = LOGIC_NUMBERS.get(value, 0)
    elif name in ("content", "constant", "priority", "case_sensitive"):
        entry[name] = value
    elif name == "enabled":
        entry["enabled"] = value
        if "disable" in entry:
            entry["disable"] = not value
    elif name == "position":
        if value == DEPTH:
            ext["position"] = 4  # SillyTavern's "at depth"
        else:
            entry["position"] = value
            if isinstance(ext.get("position"), int):
                ext["position"] = 0 if value == BEFORE else 1
    elif name == "depth":
        ext["depth"] = value
    elif name == "order":
        entry["insertion_order"] = value
    elif name == "whole_words":
        ext["match_whole_words"] = value
    elif name == "regex":
        entry["use_regex"] = value


def new_entry(number: int) -> dict[str, Any]:
    """A V2 entry with every field a reader expects."""
    return {
        "id": number,
        "keys": [],
        "secondary_keys": [],
        "content": "",
        "extensions": {},
        "enabled": True,
        "insertion_order": 100,
        "case_sensitive": False,
        "name": "",
        "priority": 0,
        "comment": "",
        "selective": False,
        "constant": False,
        "position": AFTER,
    }


def edited(
    book: dict[str, Any] | None, rows: list[dict[str, Any]], settings: dict[str, Any]
) -> dict[str, Any]:
    """The book after the editor's form: `rows` are the shown entries in order (None as "raw"
    for a new one), each {"raw", "values", "remove"}; `settings` the book's own values.
    LorebookInvalid names the entry and the field of a number out of range."""
    result = copy.deepcopy(book) if book else {"entries": []}
    for name, (low, high) in BOOK_LIMITS.items():
        if not low <= settings[name] <= high:
            raise LorebookInvalid(
                _l(
                    "Лорбук: %(field)s — от %(low)s до %(high)s",
                    field=FIELD_LABELS[name],
                    low=low,
                    high=high,
                )
            )
    shown = book_values(book)
    for name, key in BOOK_KEYS.items():
        if settings[name] != shown[name]:
            result[key] = settings[name]
    entries = []
    for number, row in enumerate(rows, 1):
        raw, values = row["raw"], row["values"]
        if row["remove"] or (
            raw is None and not (values["content"].strip() or values["keys"].strip())
        ):
            continue
        for name, (low, high) in LIMITS.items():
            if not low <= values[name] <= high:
                raise LorebookInvalid(
                    _l(
                        "Лорбук, запись %(n)s: %(field)s — от %(low)s до %(high)s",
                        n=number,
                        field=FIELD_LABELS[name],
                        low=low,
                        high=high,
                    )
                )
        entry = copy.deepcopy(raw) if raw is not None else new_entry(len(entries) + 1)
        before = entry_values(entry) if raw is not None else {}
        for name, value in values.items():  # position before depth: the form's order
            if raw is None or before.get(name) != value:
                _write_entry(entry, name, value)
        entries.append(entry)
    result["entries"] = entries
    return clean(result)


def from_world_info(world: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a standalone SillyTavern World Info file as character-book entries (the
    shape SillyTavern itself writes into a card), each keeping its own fields in extensions."""
    entries = world.get("entries")
    if isinstance(entries, dict):
        entries = list(entries.values())
    if not isinstance(entries, list):
        raise LorebookInvalid(_l("Лорбук: в файле нет записей World Info"))
    converted = []
    for raw in entries:
        if not isinstance(raw, dict):
            continue
        position = raw.get("position")
        converted.append(
            {
                "id": raw.get("uid", len(converted)),
                "keys": _list(raw.get("key", raw.get("keys"))),
                "secondary_keys": _list(raw.get("keysecondary", raw.get("secondary_keys"))),
                "comment": raw.get("comment") or "",
                "name": raw.get("comment") or raw.get("name") or "",
                "content": raw.get("content") if isinstance(raw.get("content"), str) else "",
                "constant": _bool(raw.get("constant")),
                "selective": _bool(raw.get("selective")),
                "insertion_order": _int(raw.get("order", raw.get("insertion_order")), 100),
                "enabled": not raw.get("disable", False),
                "position": BEFORE if position in (0, BEFORE) else AFTER,
                "case_sensitive": _bool(raw.get("caseSensitive", raw.get("case_sensitive"))),
                "priority": _int(raw.get("priority"), 0),
                "extensions": {
                    **(raw.get("extensions") if isinstance(raw.get("extensions"), dict) else {}),
                    "position": position
                    if isinstance(position, int)
                    else (0 if position == BEFORE else 1),
                    "depth": _int(raw.get("depth"), DEFAULT_DEPTH),
                    "selectiveLogic": _int(raw.get("selectiveLogic"), 0),
                    "exclude_recursion": _bool(raw.get("excludeRecursion")),
                    "prevent_recursion": _bool(raw.get("preventRecursion")),
                    "match_whole_words": raw.get("matchWholeWords"),
                    "scan_depth": raw.get("scanDepth"),
                },
            }
        )
    return converted
