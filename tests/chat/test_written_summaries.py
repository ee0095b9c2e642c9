"""What the model is asked when it summarises a dialog, and what of its answer is kept."""

from webapp.chat.context import Turn, Written
from webapp.chat.summaries import (
    INPUT_LIMIT,
    TURN_LIMIT,
    WRITTEN_LIMIT,
    clean_summary,
    summary_prompt,
)


def test_the_request_names_both_sides_and_carries_the_previous_summary():
    turns = [Turn(11, "user", "Меня зовут   Иван."), Turn(12, "assistant", "Рада знакомству!")]
    messages, upto = summary_prompt("Алиса", "Иван", Written("Они встретились.", 10), turns)
    assert upto == 12
    assert messages[0]["role"] == "system" and "«Алиса»" in messages[0]["content"]
    body = messages[1]["content"]
    assert body.startswith("Краткое содержание до этого места:\nОни встретились.")
    assert body.endswith("Иван: Меня зовут Иван.\nАлиса: Рада знакомству!")


def test_a_long_backlog_is_sent_in_parts_oldest_first():
    turns = [Turn(n, "user", "слово " * 200) for n in range(1, 40)]
    messages, upto = summary_prompt("Алиса", "Иван", None, turns)
    lines = messages[1]["content"].split("\n")[1:]
    assert all(len(line) <= len("Иван: ") + TURN_LIMIT for line in lines)
    assert sum(len(line) + 1 for line in lines) <= INPUT_LIMIT + 1
    assert upto == len(lines) < 39  # the rest goes in the next request


def test_the_answer_is_tidied_and_cut_at_a_sentence_end():
    assert (
        clean_summary("  Иван   пришёл.\n\n  Алиса   ответила.  ")
        == "Иван пришёл.\nАлиса ответила."
    )
    assert (
        clean_summary("Иван пришёл домой поздно. Алиса ответила, что")
        == "Иван пришёл домой поздно."
    )
    long = "Иван рассказал историю. " * 100
    cut = clean_summary(long)
    assert len(cut) <= WRITTEN_LIMIT and cut.endswith("историю.")
