import pytest

from webapp.characters.story import Definition
from webapp.chat.context import (
    MAX_CONTEXT_MESSAGES,
    Turn,
    Written,
    build_prompt,
    compress,
    is_marked,
)
from webapp.chat.errors import MessageEmpty
from webapp.chat.service import CUT_MARK, clean_reply, clean_user_text


def dialog(count: int) -> list[Turn]:
    return [
        Turn(n, "user" if n % 2 else "assistant", f"Реплика {n}. Подробности реплики {n}.")
        for n in range(1, count + 1)
    ]


def test_short_dialogs_are_sent_whole():
    turns = dialog(MAX_CONTEXT_MESSAGES)
    assert compress(turns).kept == turns and compress(turns).summary == ""


def test_long_dialog_keeps_first_last_marked_and_summarises_the_rest():
    turns = dialog(200)
    turns[49] = Turn(50, "user", "Я так тебя люблю!")
    turns[76] = Turn(77, "user", "Называй меня Капитан.")
    result = compress(turns)
    ids = [turn.id for turn in result.kept]
    assert len(result.kept) + 1 <= MAX_CONTEXT_MESSAGES  # the summary takes one place
    assert ids[:2] == [1, 2] and ids[-8:] == list(range(193, 201))
    assert 50 in ids and 77 in ids
    assert "Реплика 192." in result.summary and "Подробности" not in result.summary
    assert result.summarised_upto == 192


def test_a_written_summary_stands_for_the_turns_it_covers():
    turns = dialog(60)
    plain = compress(turns)
    assert [t.id for t in plain.unwritten] == list(range(3, 53))  # everything dropped
    result = compress(turns, written=Written("Иван рассказал о своей собаке.", upto_id=40))
    assert result.kept == plain.kept
    assert result.summary.startswith("Иван рассказал о своей собаке.\n")
    assert "Реплика 41." in result.summary and "Реплика 40." not in result.summary
    assert [t.id for t in result.unwritten] == list(range(41, 53))
    assert result.summarised_upto == 52
    caught_up = compress(turns, written=Written("Всё до 52.", upto_id=52))
    assert caught_up.summary == "Всё до 52." and caught_up.unwritten == []


def test_the_prompt_has_system_examples_summary_and_placeholders():
    character = Definition(
        "Алиса",
        system_prompt="Ты {{char}}, собеседник {{user}}.",
        examples=(("Привет, {{char}}", "Здравствуй, {{user}}"),),
    )
    messages, compressed = build_prompt(character, dialog(40), user_name="Иван")
    assert messages[0] == {"role": "system", "content": "Ты Алиса, собеседник Иван."}
    assert messages[1:3] == [
        {"role": "user", "content": "Привет, Алиса"},
        {"role": "assistant", "content": "Здравствуй, Иван"},
    ]
    assert messages[5]["role"] == "system" and "Краткое содержание" in messages[5]["content"]
    assert compressed.summary in messages[5]["content"]
    assert sum(1 for m in messages[3:] if m["role"] != "system") <= MAX_CONTEXT_MESSAGES


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("Спасибо!!", True),
        ("/reset", True),
        ("запомни: я врач", True),
        ("ок", False),
        ("Мне грустно", True),
        ("Погода хорошая.", False),
    ],
)
def test_what_counts_as_marked(text, marked):
    assert is_marked(Turn(1, "user", text)) is marked


def test_user_message_edges():
    assert clean_user_text("я" * 1000) == ("я" * 1000, False)
    long = "а" * 900 + "середина" + "б" * 99 + "?"
    assert clean_user_text(long) == ("а" * 900 + "б" * 99 + "?", True)  # first 900 + last 100
    assert clean_user_text("  привет \r\n") == ("привет", False)
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(MessageEmpty):
            clean_user_text(empty)


def test_reply_edges():
    assert clean_reply("а" * 2000) == "а" * 2000
    cut = clean_reply("а" * 2001)
    assert len(cut) == 2000 and cut.endswith(CUT_MARK)


def test_history_past_the_context_budget_goes_to_the_summary():
    turns = [
        Turn(n, "user" if n % 2 else "assistant", f"Реплика {n}. " + "слово " * 160)
        for n in range(1, 13)
    ]  # twelve turns of about 1,000 characters: fewer than 20, but too long for the context
    result = compress(turns, max_chars=3500)
    assert [t.id for t in result.kept] == [10, 11, 12]
    assert result.summarised_upto == 9 and "Реплика 1." in result.summary
    assert result.summary_at == 0  # the summary stands before what is kept
    character = Definition("А", system_prompt="система")
    messages, _ = build_prompt(character, turns, user_name="Б", max_chars=3500)
    assert messages[1]["role"] == "system" and "Краткое содержание" in messages[1]["content"]
    assert messages[-1]["content"].startswith("Реплика 12.")
