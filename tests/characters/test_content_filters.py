import pytest

from webapp.characters.filters import mask, settled


@pytest.mark.parametrize(
    ("text", "filters", "expected"),
    [
        ("Ну ты и сука, блядь!", ["profanity"], "Ну ты и с***, б****!"),
        ("Ну ты и сука", [], "Ну ты и сука"),
        ("Я тебя убью.", ["violence"], "Я тебя у***."),
        ("Я тебя убью.", ["profanity"], "Я тебя убью."),
        ("Обсудим секс?", ["adult", "profanity"], "Обсудим с***?"),
    ],
)
def test_masking_keeps_the_length(text, filters, expected):
    assert mask(text, filters) == expected
    assert len(mask(text, filters)) == len(text)


def test_a_growing_text_settles_at_the_last_whole_word():
    assert settled("Привет, как де") == len("Привет, как ")
    assert settled("Слово") == 0
