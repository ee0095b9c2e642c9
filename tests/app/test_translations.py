"""The English catalogue covers every string the code and templates ask for."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [
    ("webapp/**.py", "python"),
    ("webapp/templates/**.html", "jinja2"),
    ("webapp/templates/**.txt", "jinja2"),
]


def test_every_message_has_an_english_translation():
    with open(ROOT / "webapp/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=keywords
        )
    }
    assert len(found) > 100  # the extraction itself works
    missing = sorted(
        m
        for m in found
        if isinstance(m, str)
        and not (catalogue.get(m) and catalogue[m].string and not catalogue[m].fuzzy)
    )
    assert missing == [], f"run `make messages` and translate: {missing}"
