"""Markdown in messages, and the dates people read."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask_babel import to_user_timezone

from tests.characters.test_card_files import REAL
from webapp.chat import markup
from webapp.db import utcnow

SAMPLES = [
    "Привет! Как дела?",
    "Строка\nещё строка\nи третья",
    'Он сказал: "привет", и ушёл.',
    "100 000 рублей за 5 минут",
    "5. не пункт, а число в начале",
    "тире — длинное, дефис-короткий",
    "a\xa0b",
    "a\r\nb",
    "x\u2028y",
    "табуляция\tвнутри",
    "emoji 😀 и ё",
    "a\x00b",
    "мягкий\u00adперенос",
    "ссылка https://example.ru/путь?a=1",
    "две строки\n\nдва абзаца",
    "  отступ в начале",
    "пробел в конце ",
    "(в скобках) и 'кавычки'",
    "решётка # посередине",
]


def _texts() -> list[str]:
    texts = list(SAMPLES)
    for path in REAL:  # the real community cards, when the development set is here
        if path.suffix != ".json":
            continue
        stack = [json.loads(path.read_text(encoding="utf-8", errors="replace"))]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    rng = random.Random(7)
    alphabet = "абв где ABC 123 .,!?\"'()\n\t\xa0*_`#>-+|~[]<&\\="
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    return texts


def test_plain_text_skips_the_parser_with_the_same_output():
    skipped = 0
    for text in _texts():
        stripped = text.strip("\n")
        if not stripped or markup._MARKUP.search(stripped):
            continue
        skipped += 1
        assert markup.to_html(text) == markup._parsed(stripped), repr(text)
    assert skipped > 50


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*улыбается* Привет", "<p><em>улыбается</em> Привет</p>"),
        ("**важно**", "<p><strong>важно</strong></p>"),
        ("- один\n- два", "<ul>\n<li>один</li>\n<li>два</li>\n</ul>"),
        ("> цитата", "<blockquote>\n<p>цитата</p>\n</blockquote>"),
        ("`код` и ~~нет~~", "<p><code>код</code> и <s>нет</s></p>"),
        ("строка\nещё", "<p>строка<br>\nещё</p>"),
    ],
)
def test_markdown_people_use_in_chats(text, html):
    assert str(markup.to_html(text)).strip() == html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[клик](javascript:alert(1))",
        "![картинка](http://evil.example/x.png)",
        '<a href="http://x" onclick="alert(1)">x</a>',
    ],
)
def test_nothing_runs_and_nothing_loads_from_elsewhere(text):
    tags: list[tuple[str, list]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, attrs))

    Tags().feed(str(markup.to_html(text)))
    for tag, attrs in tags:
        assert tag in markup.TAGS and tag not in ("script", "img")
        for name, value in attrs:
            assert not name.startswith("on") and not (value or "").startswith("javascript:")


def test_links_open_safely():
    html = str(markup.to_html("[сайт](https://example.ru)"))
    assert 'href="https://example.ru"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_dates_read_as_people_say_them(app):
    when = app.jinja_env.filters["when"]
    now = utcnow()
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        local = to_user_timezone(now)
        assert when(now) == local.strftime("%H:%M")  # today: the time alone
        assert when(now, with_time=False) == "сегодня"
        assert when(now - timedelta(days=1), with_time=False) == "вчера"
        assert when(now - timedelta(days=1)) == "вчера, " + local.strftime("%H:%M")
        long_ago = to_user_timezone(now - timedelta(days=400))
        months = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                  "сентября", "октября", "ноября", "декабря"]  # fmt: skip
        expected = f"{long_ago.day} {months[long_ago.month - 1]} {long_ago.year}"
        assert when(now - timedelta(days=400), with_time=False).startswith(expected)
