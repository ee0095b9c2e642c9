"""What the model reads of a character, in the order the community's cards are written for
(SillyTavern's story string): the system prompt, lorebook entries placed before the character,
the description, personality and scenario, entries placed after; then the example dialogues as
turns; the history comes from the chat; the post-history instructions end the prompt.

Example dialogue comes in every shape real cards use: `<START>` blocks or none, `{{user}}:` /
`{{char}}:` lines, the card's own names (`You:` / `Saul Goodman:`, other characters of a scenario
card), `{{user}} *acts*` without a colon, or prose that is no dialogue at all (kept as text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from webapp.characters import lorebook
from webapp.characters.lorebook import Activation

DEFAULT_PROMPT = "Ты — {{char}}. Отвечай от лица персонажа и оставайся в образе."
START = re.compile(r"^\s*<START>\s*$", re.IGNORECASE | re.MULTILINE)
SPEAKER = re.compile(r"^\s*(\{\{\s*(?:user|char)\s*\}\}|[^\s:*\"“«\[(][^:\n]{0,39}?)\s*:\s?(.*)$")
USER_ACTS = re.compile(r"^\s*\{\{\s*user\s*\}\}\s+\S")
USER_NAMES = {"{{user}}", "you", "user", "anon", "вы", "пользователь"}

Fill = Callable[[str], str]


@dataclass(frozen=True)
class Definition:
    """A character (or a manager's unsaved draft) as the prompt reads it."""

    name: str
    system_prompt: str = ""
    definition: str = ""
    personality: str = ""
    scenario: str = ""
    mes_example: str = ""
    post_history: str = ""
    nickname: str = ""
    examples: tuple[tuple[str, str], ...] = ()  # the editor's pairs
    lorebook: dict[str, Any] | None = None

    @classmethod
    def of(cls, character: Any) -> Definition:
        return cls(
            name=character.name,
            system_prompt=character.system_prompt or "",
            definition=character.definition or "",
            personality=character.personality or "",
            scenario=character.scenario or "",
            mes_example=character.mes_example or "",
            post_history=character.post_history or "",
            nickname=character.nickname or "",
            examples=tuple((e["user"], e["reply"]) for e in character.examples or []),
            lorebook=character.lorebook,
        )

    @cached_property
    def book(self) -> lorebook.Book:
        """The lorebook as activation reads it, parsed once for all the prompt's uses."""
        return lorebook.parse(self.lorebook)

    @property
    def char(self) -> str:
        """What {{char}} is (V3's nickname, when the card has one)."""
        return self.nickname or self.name

    def fixed_size(self) -> int:
        """Characters of the prompt that do not depend on the dialog (for the context fit)."""
        return sum(
            len(text)
            for text in (
                self.system_prompt or DEFAULT_PROMPT,
                self.definition,
                self.personality,
                self.scenario,
                self.mes_example,
                self.post_history,
            )
        ) + sum(len(u) + len(r) for u, r in self.examples)


def system_text(definition: Definition, lore: Activation, fill: Fill, persona: str = "") -> str:
    """The first system message: the story string (the person's persona after the scenario)."""
    prompt = definition.system_prompt or DEFAULT_PROMPT
    prompt = prompt.replace("{{original}}", DEFAULT_PROMPT)
    parts = [prompt, *lore.before, definition.definition]
    if definition.personality:
        parts.append(f"Характер {{{{char}}}}: {definition.personality}")
    if definition.scenario:
        parts.append(f"Сценарий: {definition.scenario}")
    if persona:
        parts.append(f"О {{{{user}}}}: {persona}")
    parts += lore.after
    return fill("\n\n".join(part.strip() for part in parts if part and part.strip()))


def example_messages(definition: Definition, fill: Fill) -> list[dict[str, str]]:
    """The example dialogues as chat turns; a block that is no dialogue is one system text."""
    messages: list[dict[str, str]] = []
    for user_line, reply in definition.examples:
        messages += [
            {"role": "user", "content": fill(user_line)},
            {"role": "assistant", "content": fill(reply)},
        ]
    for block in example_blocks(definition.mes_example, definition.name, definition.nickname):
        if isinstance(block, str):
            messages.append({"role": "system", "content": fill("Пример:\n" + block)})
        else:
            messages += [{"role": role, "content": fill(text)} for role, text in block]
    return messages


def post_history_text(definition: Definition, fill: Fill) -> str:
    """The instructions after the history ({{original}}: the site has none of its own)."""
    return fill(definition.post_history.replace("{{original}}", "")).strip()


def example_blocks(text: str, name: str, nickname: str = "") -> list[Any]:
    """mes_example -> blocks, each a list of (role, text) turns or, for prose, a string."""
    chars = {n.casefold() for n in (name, nickname, "{{char}}") if n}
    blocks: list[Any] = []
    for raw in START.split(text.replace("\r\n", "\n")):
        raw = raw.strip()
        if not raw:
            continue
        turns: list[list[str]] = []
        for line in raw.split("\n"):
            role, content = _speaker(line, chars)
            if role is None:
                if turns:
                    turns[-1][1] += "\n" + line
                else:
                    turns.append(["prose", line])
                continue
            if turns and turns[-1][0] == role:
                turns[-1][1] += "\n" + content
            else:
                turns.append([role, content])
        if all(role == "prose" for role, _ in turns):
            blocks.append(raw)
            continue
        spoken = [(role, content.strip()) for role, content in turns if role != "prose"]
        prose = "\n".join(content for role, content in turns if role == "prose").strip()
        if prose:  # a scene set before the first line of dialogue stays with it
            spoken.insert(0, ("system", prose))
        blocks.append([(role, content) for role, content in spoken if content])
    return blocks


def _speaker(line: str, chars: set[str]) -> tuple[str | None, str]:
    """("user" | "assistant" | None, what was said) for one line of an example."""
    if USER_ACTS.match(line) and not SPEAKER.match(line):
        return "user", line.strip()
    match = SPEAKER.match(line)
    if not match:
        return None, line
    who = match.group(1).replace(" ", "") if "{{" in match.group(1) else match.group(1)
    key = who.strip().casefold()
    said = match.group(2)
    if key in USER_NAMES:
        return "user", said
    if key in chars:
        return "assistant", said
    if len(key.split()) <= 4 and who[:1].isupper():
        return "assistant", f"{who.strip()}: {said}"  # another character of a scenario card
    return None, line
