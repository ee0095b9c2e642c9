"""Editor rules at their edges, similarity, the business log, the characters CLI."""

import io
import json
import random

import pytest
from PIL import Image
from sqlalchemy import select

from tests.characters.test_cards import V2
from webapp.characters import editor
from webapp.characters.avatars import AvatarInvalid, process
from webapp.characters.models import Character
from webapp.db import utcnow
from webapp.monitoring.models import LogEntry


def draft(**values):
    return editor.Draft(**{"name": "Ива", "system_prompt": "Ты Ива, садовница.", **values})


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("name", "Я", False),
        ("name", "Яя", True),
        ("name", "я" * 50, True),
        ("name", "я" * 51, False),
        ("description", "д" * 500, True),
        ("description", "д" * 501, False),
        ("system_prompt", "п" * 2000, True),
        ("system_prompt", "п" * 2001, False),
        ("temperature", 0.0, True),
        ("temperature", 2.0, True),
        ("temperature", 2.01, False),
        ("temperature", -0.1, False),
        ("max_length", 99, False),
        ("max_length", 100, True),
        ("max_length", 2000, True),
        ("max_length", 2001, False),
        ("filters", ["profanity", "adult"], True),
        ("filters", ["nonsense"], False),
        ("examples", [{"user": "a", "reply": "b"}] * 5, True),
        ("examples", [{"user": "a", "reply": "b"}] * 6, False),
        ("tags", ["т" * 30], True),
        ("tags", ["т" * 31], False),
    ],
)
def test_rules_at_their_edges(field, value, ok):
    if ok:
        editor.clean(draft(**{field: value}))
    else:
        with pytest.raises(editor.CharacterInvalid) as caught:
            editor.clean(draft(**{field: value}))
        assert field in caught.value.errors


@pytest.mark.parametrize("other", ["ива", "  ИВА ", "Ива"])
def test_names_equal_ignoring_case_spaces_and_yo(app, db_session, other):
    editor.save(db_session, draft(name="Ива"), author_id=None, now=utcnow())
    with pytest.raises(editor.CharacterInvalid, match="такой персонаж уже есть"):
        editor.save(
            db_session, draft(name=other, system_prompt="Другое."), author_id=None, now=utcnow()
        )
    editor.save(
        db_session, draft(name="Пётр", system_prompt="Ты Пётр."), author_id=None, now=utcnow()
    )
    with pytest.raises(editor.CharacterInvalid):
        editor.save(
            db_session, draft(name="петр", system_prompt="Ты другой."), author_id=None, now=utcnow()
        )


def test_similarity_flags_a_paraphrase_and_passes_an_unrelated_prompt(app, db_session):
    editor.save(
        db_session,
        draft(system_prompt="Ты весёлый пират, любишь ром и море, рассказываешь о сокровищах."),
        author_id=None,
        now=utcnow(),
    )
    paraphrase = editor.most_similar(
        db_session,
        draft(system_prompt="Ты весёлый пират: любишь море и ром, рассказываешь про сокровища."),
        None,
    )
    unrelated = editor.most_similar(
        db_session, draft(system_prompt="You are a strict accountant reviewing tax reports."), None
    )
    assert paraphrase.score >= editor.NEAR_DUPLICATE > unrelated.score


def test_every_change_goes_to_the_business_log(app, db_session):
    character, _ = editor.save(db_session, draft(), author_id=None, now=utcnow())
    editor.save(
        db_session, draft(state="hidden"), author_id=None, now=utcnow(), character=character
    )
    editor.roll_back(db_session, character, 1, author_id=None, now=utcnow())
    events = [e.event for e in db_session.scalars(select(LogEntry).order_by(LogEntry.id))]
    assert events == ["character_created", "character_changed", "character_rolled_back"]


def test_a_decompression_bomb_and_fuzzed_images_are_refused_cleanly():
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG")  # tiny file, 900 megapixels
    with pytest.raises(AvatarInvalid, match="разрешение"):
        process(bomb.getvalue())
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, "PNG")
    seed = random.Random(5)
    for _ in range(200):
        data = bytearray(good.getvalue())
        for _ in range(seed.randint(1, 20)):
            data[seed.randrange(len(data))] = seed.randrange(256)
        try:
            result = process(bytes(data))
        except AvatarInvalid:
            continue
        assert set(result) == {256, 64}  # if it decodes, it is re-encoded whole
    with pytest.raises(AvatarInvalid):
        process(b"MZ\x90\x00" + b"\x00" * 100)  # a renamed executable


def test_cli_imports_cards_and_exports_every_format(app, db_session, tmp_path):
    good = tmp_path / "fox.json"
    good.write_text(json.dumps(V2), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "Я"}), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["characters", "import", str(good), str(bad)])
    assert result.exit_code == 1
    character = db_session.scalar(select(Character).where(Character.name == "Лиса Алиса"))
    assert f"fox.json: {character.id}" in result.output
    assert "bad.json: Имя: от 2 до 50" in result.output
    for kind in ("json", "v2", "v3", "png"):
        out = tmp_path / f"out.{kind}"
        exported = runner.invoke(
            args=["characters", "export", str(character.id), "--format", kind, "-o", str(out)]
        )
        assert exported.exit_code == 0, exported.output
        assert out.stat().st_size > 100
    assert json.loads((tmp_path / "out.v3").read_text())["spec"] == "chara_card_v3"
    missing = runner.invoke(args=["characters", "export", "999999", "-o", str(tmp_path / "x")])
    assert missing.exit_code != 0 and "нет персонажа" in missing.output


def test_a_tag_keeps_its_spelling_and_is_found_however_it_is_typed(app, db_session):
    from webapp.characters.service import list_published

    character, _ = editor.save(
        db_session, draft(tags=["Ёлка", "ёлка", "Новый  год"], state="published"),
        author_id=None, now=utcnow(),
    )  # fmt: skip
    assert character.tags == ["Ёлка", "Новый год"]
    for query in ("елка", "ЁЛКА", "новый год"):
        assert character in list_published(db_session, query), query
