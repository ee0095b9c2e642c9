"""Content filters a character can switch on; applied to the AI's words before anyone sees them.

Matching words are masked letter for letter ("х**"), so the text keeps its length: a stream can
be masked piece by piece, holding back only the word still being written.
"""

from __future__ import annotations

import re
from functools import lru_cache

ROOTS = {
    "profanity": (
        "хуй",
        "хуе",
        "хуё",
        "хуя",
        "пизд",
        "ебат",
        "ебан",
        "ебал",
        "ебл",
        "ёб",
        "заеб",
        "бляд",
        "блят",
        "сука",
        "суки",
        "сучк",
        "мудак",
        "мудил",
        "залуп",
        "гандон",
        "пидор",
        "пидар",
        "шлюх",
        "fuck",
        "shit",
        "bitch",
        "cunt",
    ),
    "violence": (
        "убью",
        "убить",
        "убива",
        "зареж",
        "заколю",
        "расчлен",
        "кровищ",
        "пытк",
        "пытат",
        "изнасил",
        "обезглав",
        "kill",
        "murder",
        "torture",
    ),
    "adult": (
        "секс",
        "порн",
        "эрот",
        "оргазм",
        "голая",
        "голый",
        "голые",
        "трах",
        "минет",
        "возбужд",
        "sex",
        "porn",
        "nude",
    ),
}
WORD_END = re.compile(r"\W", re.UNICODE)


@lru_cache(maxsize=16)
def _pattern(filters: tuple[str, ...]) -> re.Pattern[str] | None:
    roots = [root for name in filters for root in ROOTS.get(name, ())]
    if not roots:
        return None
    return re.compile(r"\w*(?:" + "|".join(map(re.escape, roots)) + r")\w*", re.IGNORECASE)


def mask(text: str, filters: list[str] | tuple[str, ...]) -> str:
    pattern = _pattern(tuple(sorted(filters or ())))
    if pattern is None:
        return text
    return pattern.sub(lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 1), text)


def settled(text: str) -> int:
    """How much of a growing text can be shown already: up to the end of the last whole word."""
    ends = [m.end() for m in WORD_END.finditer(text)]
    return ends[-1] if ends else 0
