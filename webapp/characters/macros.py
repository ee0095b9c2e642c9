"""The macros community cards are written with, filled in before the text reaches the model or
the chat: {{char}} and {{user}} (spaces and case as cards write them: `{{ Char }}`),
{{original}}, {{newline}}, {{// a comment}}, {{random:a,b,c}} (or `::`-separated), {{pick:...}}
(the same choice every time in one dialog), {{roll:d6}} / {{roll:2d6+1}}.

Unknown macros are left as they are: a card's own braces are not ours to eat.
"""

from __future__ import annotations

import random
import re
import zlib

MACRO = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
ROLL = re.compile(r"\s*(\d*)\s*d\s*(\d+)\s*([+-]\s*\d+)?\s*|\s*(\d+)\s*", re.IGNORECASE)
MAX_DICE = 100


def expand(
    text: str,
    *,
    char: str,
    user: str,
    original: str = "",
    seed: int = 0,
    rng: random.Random | None = None,
) -> str:
    """`text` with the macros filled. `seed` keeps {{pick}} stable (a dialog's id); `rng` draws
    {{random}} and {{roll}} (a fresh one each call by default)."""
    if "{{" not in text:
        return text
    draw = rng or random.Random()  # noqa: S311 - dice for a story, not a secret
    counter = 0

    def one(match: re.Match) -> str:
        nonlocal counter
        counter += 1
        body = match.group(1)
        name, _, argument = body.partition(":")
        key = name.strip().casefold()
        if body.lstrip().startswith("//"):
            return ""
        if not argument and not _:
            return {
                "char": char,
                "user": user,
                "original": original,
                "newline": "\n",
            }.get(key, match.group(0))
        if key in ("random", "pick"):
            choices = _choices(argument)
            if not choices:
                return ""
            if key == "pick":
                # Stable per dialog and per place in the text, as SillyTavern's pick is.
                place = zlib.crc32(f"{seed}:{counter}:{body}".encode())
                chooser = random.Random(place)  # noqa: S311
                return chooser.choice(choices)
            return draw.choice(choices)
        if key == "roll":
            return _roll(argument, draw) or match.group(0)
        return match.group(0)

    return MACRO.sub(one, text)


def _choices(argument: str) -> list[str]:
    argument = argument.lstrip(":") if argument.startswith(":") else argument
    parts = argument.split("::") if "::" in argument else argument.split(",")
    return [part.strip() for part in parts]


def _roll(argument: str, draw: random.Random) -> str | None:
    match = ROLL.fullmatch(argument)
    if not match:
        return None
    if match.group(4):
        count, sides, bonus = 1, int(match.group(4)), 0
    else:
        count = int(match.group(1) or 1)
        sides = int(match.group(2))
        bonus = int((match.group(3) or "0").replace(" ", ""))
    if not (1 <= count <= MAX_DICE and sides >= 1):
        return None
    return str(sum(draw.randint(1, sides) for _ in range(count)) + bonus)
