"""What the model reads of a character: lorebook activation, macros, example dialogue shapes and
the order of the prompt."""

import random

import pytest

from webapp.characters import lorebook, macros
from webapp.characters.story import Definition, example_blocks
from webapp.chat.context import Turn, build_prompt


def book(*entries, **options):
    return lorebook.parse({"entries": list(entries), **options})


def names(activation):
    return activation.names


def entry(name, keys, content=None, **values):
    return {"name": name, "keys": keys, "content": content or f"{name}.", **values}


@pytest.mark.parametrize(
    ("entries", "messages", "active"),
    [
        ([entry("кот", ["кот"])], ["Где кот?"], ["кот"]),
        ([entry("кот", ["кот"])], ["Где собака?"], []),
        ([entry("всегда", [], constant=True)], ["что угодно"], ["всегда"]),
        ([entry("выкл", ["кот"], enabled=False)], ["кот"], []),
        ([entry("регистр", ["Рим"], case_sensitive=True)], ["рим"], []),
        ([entry("регистр", ["Рим"])], ["РИМ"], ["регистр"]),
        ([entry("слово", ["кот"], extensions={"match_whole_words": True})], ["котлета"], []),
        ([entry("слово", ["кот"], extensions={"match_whole_words": True})], ["мой кот"], ["слово"]),
        ([entry("re", ["/др[ао]кон/i"])], ["ДРАКОН!"], ["re"]),
        ([entry("v3re", [r"\bmage\w*"], use_regex=True)], ["the mages"], ["v3re"]),
        ([entry("bad", ["/[/"])], ["["], []),  # a broken pattern matches nothing
        ([entry("empty", [""])], ["anything"], []),
    ],
)
def test_keys(entries, messages, active):
    assert names(lorebook.activate(book(*entries), messages)) == active


@pytest.mark.parametrize(
    ("logic", "text", "active"),
    [
        (0, "меч и щит", True),  # AND ANY
        (0, "меч", False),
        (3, "меч щит шлем", True),  # AND ALL
        (3, "меч щит", False),
        (2, "меч", True),  # NOT ANY
        (2, "меч щит", False),
        (1, "меч щит", True),  # NOT ALL
        (1, "меч щит шлем", False),
    ],
)
def test_secondary_keys_by_logic(logic, text, active):
    rule = entry(
        "меч", ["меч"], secondary_keys=["щит", "шлем"], selective=True,
        extensions={"selectiveLogic": logic},
    )  # fmt: skip
    assert bool(lorebook.activate(book(rule), [text])) is active


def test_scan_depth_recursion_and_budget():
    first = entry("дракон", ["дракон"], "Дракон живёт в горах.")
    second = entry("горы", ["горах"], "Горы холодные.")
    old = ["дракон", "привет", "как дела"]
    assert names(lorebook.activate(book(first), old)) == []  # beyond the default depth of 2
    assert names(lorebook.activate(book(first, scan_depth=3), old)) == ["дракон"]
    assert names(lorebook.activate(book(first, second), ["дракон"])) == ["дракон"]
    deep = book(first, second, recursive_scanning=True)
    assert names(lorebook.activate(deep, ["дракон"])) == ["дракон", "горы"]
    stop = book(
        first, {**second, "extensions": {"exclude_recursion": True}}, recursive_scanning=True
    )
    assert names(lorebook.activate(stop, ["дракон"])) == ["дракон"]
    big = [entry(f"e{n}", ["ключ"], "x" * 300, priority=n) for n in range(10)]
    kept = lorebook.activate(book(*big, token_budget=400), ["ключ"])  # 800 characters
    assert sorted(names(kept)) == ["e8", "e9"]  # the higher priorities win the budget


def test_positions_order_and_decorators():
    entries = [
        entry("после", ["к"], insertion_order=5, position="after_char"),
        entry("до", ["к"], insertion_order=1, position="before_char"),
        entry("раньше", ["к"], insertion_order=0, position="after_char"),
        entry("глубина", ["к"], "@@depth 1\nВ глубине."),
        entry("никогда", ["к"], "@@dont_activate\nНет."),
        entry("потом", ["к"], "@@activate_only_after 5\nПозже."),
        entry("ст", ["к"], extensions={"position": 4, "depth": 0}),
    ]
    found = lorebook.activate(book(*entries), ["к"], turn=3)
    assert found.before == ["до."]
    assert found.after == ["раньше.", "после."]  # by insertion order
    assert found.at_depth == [(1, "В глубине."), (0, "ст.")]
    assert "никогда" not in found.names and "потом" not in found.names
    assert "потом" in lorebook.activate(book(*entries), ["к"], turn=6).names


def test_the_prompt_puts_every_part_in_its_place():
    character = Definition(
        "Лиса",
        system_prompt="{{original}} Хитри.",
        definition="Рыжая лиса {{char}}.",
        personality="льстивая",
        scenario="Лес.",
        mes_example="<START>\n{{user}}: Кто ты?\n{{char}}: Лиса.",
        post_history="{{original}}Будь краткой, {{user}}.",
        lorebook={
            "entries": [
                entry("до", ["сыр"], "Сыр у вороны.", position="before_char"),
                entry("после", ["сыр"], "Ворона на дубе.", position="after_char"),
                entry("глубина", ["сыр"], "@@depth 1\nЛиса голодна."),
            ]
        },
    )
    turns = [
        Turn(1, "user", "Привет"),
        Turn(2, "assistant", "Здравствуй"),
        Turn(3, "user", "Где сыр?"),
    ]
    messages, _ = build_prompt(character, turns, user_name="Вася")
    system = messages[0]["content"]
    order = [
        "Ты — Лиса.",
        "Хитри.",
        "Сыр у вороны.",
        "Рыжая лиса Лиса.",
        "Характер Лиса: льстивая",
        "Сценарий: Лес.",
        "Ворона на дубе.",
    ]
    assert [system.find(part) for part in order] == sorted(system.find(p) for p in order)
    assert -1 not in [system.find(part) for part in order]
    assert messages[1:3] == [
        {"role": "user", "content": "Кто ты?"},
        {"role": "assistant", "content": "Лиса."},
    ]
    roles = [(m["role"], m["content"]) for m in messages[3:]]
    assert roles == [
        ("user", "Привет"),
        ("assistant", "Здравствуй"),
        ("system", "Лиса голодна."),
        ("user", "Где сыр?"),
        ("system", "Будь краткой, Вася."),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "<START>\n{{user}}: Hi\n{{char}}: Hello\n<START>\n{{ user }}: Bye\n{{ char }}: See ya",
            [[("user", "Hi"), ("assistant", "Hello")], [("user", "Bye"), ("assistant", "See ya")]],
        ),
        (
            "You: Hi\n\nSaul Goodman: Better call me.",
            [[("user", "Hi"), ("assistant", "Better call me.")]],
        ),
        (
            "{{char}}: one\nmore of it\n{{user}} *waves*",
            [[("assistant", "one\nmore of it"), ("user", "{{user}} *waves*")]],
        ),
        (
            "{{user}}: Hi\nMr. Aizawa: Sit down.",
            [[("user", "Hi"), ("assistant", "Mr. Aizawa: Sit down.")]],
        ),
        ("[Scene: a tavern. Rain.]\n*She smiles.*", ["[Scene: a tavern. Rain.]\n*She smiles.*"]),
        ("", []),
    ],
)
def test_example_dialogue_in_every_shape(text, expected):
    assert example_blocks(text, "Saul Goodman") == expected


def test_macros():
    rng = random.Random(1)
    fill = lambda text, **kw: macros.expand(text, char="Кот", user="Оля", rng=rng, **kw)  # noqa: E731
    assert fill("{{char}} и {{ User }}{{// заметка автора}}!{{newline}}") == "Кот и Оля!\n"
    assert fill("{{random:а,б,в}}") in {"а", "б", "в"}
    assert fill("{{random::один, два::три}}") in {"один, два", "три"}
    assert 3 <= int(fill("{{roll:3d6}}")) <= 18 and 1 <= int(fill("{{roll: d20}}")) <= 20
    assert 6 <= int(fill("{{roll:2d6+4}}")) <= 16
    picks = {fill("{{pick:а,б,в,г,д,е}}", seed=7) for _ in range(20)}
    assert len(picks) == 1  # the same in one dialog
    assert fill("{{unknown}} {{roll:abc}}") == "{{unknown}} {{roll:abc}}"
    nickname = Definition("Savannah Chen", nickname="Savvy")
    assert nickname.char == "Savvy"


def test_a_manager_edits_the_lorebook_without_script_and_tests_it(client, login_as, db_session):
    """Edit an entry, add one, remove one: every key the card had stays on the kept entries."""
    import io
    import json

    from sqlalchemy import select

    from tests.conftest import csrf_token
    from webapp.characters.models import Character

    login_as("manager")
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Хранитель",
            "description": "Старый библиотекарь.",
            "character_book": {
                "entries": [
                    {
                        "keys": ["книга"],
                        "content": "Книги шепчут.",
                        "extensions": {"x": 1},
                        "id": 7,
                    },
                    {"keys": ["пыль"], "content": "Пыль повсюду."},
                ],
                "tool_field": True,
            },
        },
    }
    token = csrf_token(client, "/manage/characters/import")
    client.post(
        "/manage/characters/import",
        data={"csrf_token": token, "card": (io.BytesIO(json.dumps(card).encode()), "k.json")},
        content_type="multipart/form-data",
    )
    character = db_session.scalar(select(Character).where(Character.name == "Хранитель"))
    path = f"/manage/characters/{character.id}/lorebook"
    page = client.get(path).get_data(as_text=True)
    assert "Книги шепчут." in page and "Новая запись" in page
    form = {
        "csrf_token": csrf_token(client, path),
        "scan_depth": "2",
        "token_budget": "1024",
        "entries-0-keys": "книга, том",
        "entries-0-content": "Книги шепчут по ночам.",
        "entries-0-position": "depth",
        "entries-0-depth": "1",
        "entries-0-order": "100",
        "entries-0-priority": "0",
        "entries-0-enabled": "y",
        "entries-1-keys": "пыль",
        "entries-1-content": "Пыль повсюду.",
        "entries-1-remove": "y",
        "entries-2-name": "Кот",
        "entries-2-keys": "кот",
        "entries-2-content": "В библиотеке живёт кот.",
        "entries-2-position": "before_char",
        "entries-2-enabled": "y",
    }
    assert client.post(path, data=form).status_code == 302
    db_session.expire_all()
    book = db_session.get(Character, character.id).lorebook
    first, second = book["entries"]
    assert first["keys"] == ["книга", "том"] and first["content"] == "Книги шепчут по ночам."
    assert first["extensions"] == {"x": 1, "position": 4, "depth": 1} and first["id"] == 7
    assert second["name"] == "Кот" and second["position"] == "before_char"
    assert book["tool_field"] is True
    tested = client.get(path, query_string={"message": "Там кот и том стихов"}).get_data(
        as_text=True
    )
    assert "Сработали: книга, Кот" in tested and "на глубине 1: Книги шепчут" in tested
    bad = {**form, "csrf_token": csrf_token(client, path), "entries-0-depth": "-5"}
    response = client.post(path, data=bad)
    assert response.status_code == 422 and "глубина — от 0 до 1000" in response.get_data(
        as_text=True
    )


def test_wyvernchat_lexicon_entries_count_as_entries():
    found = lorebook.activate(
        book(entry("король", ["King"]), lexicon=[entry("магия", ["mage"])]),
        ["the mage and the King"],
    )
    assert found.names == ["король", "магия"]


@pytest.mark.parametrize(
    ("key", "regex", "refused"),
    [("/(a+)+$/", False, True), ("(x*)*y", True, True), ("(.+){2,}", True, True),
     ("/др[ао]кон/i", False, False), ("(a+)+", False, False), ("Café", True, False)],
)  # fmt: skip
def test_a_pattern_that_could_hang_a_reply_is_refused(key, regex, refused):
    book = {"entries": [{"keys": [key], "content": "x", "use_regex": regex}]}
    if refused:
        with pytest.raises(lorebook.LorebookInvalid):
            lorebook.clean(book)
    else:
        assert lorebook.clean(book) is book
