import pytest

from pc_node.engines.think import strip_thinking


@pytest.mark.parametrize(
    ("deltas", "expected"),
    [
        (["<think>план</think>\n\nОтвет"], "Ответ"),
        (["<th", "ink>раз", "мышляю</th", "ink>", "\n", "При", "вет"], "Привет"),
        (["До <think>x</think>после"], "До после"),
        (["Без тегов, ", "просто текст"], "Без тегов, просто текст"),
        (["a < b и <", "b>жирный</b>"], "a < b и <b>жирный</b>"),
        (["конец <thi"], "конец <thi"),
        (["<think>не закрыт"], ""),
        (["<think></think>", "<think>\n</think>Да"], "Да"),
    ],
)
def test_thinking_never_reaches_the_user(deltas, expected):
    assert "".join(strip_thinking(deltas)) == expected


def test_text_is_streamed_without_waiting_for_the_end():
    produced = strip_thinking(iter(["Пер", "вый", " кусок"]))
    assert next(produced) == "Пер"
