"""What the model sees: the character (characters.story), example dialogs and at most 20 messages.

Past 20 messages the older part is compressed, fast and without the model: the first and the
last messages stay, so do emotionally marked ones and commands ("называй меня…", "/..."), and
everything else becomes one system message with a short extractive summary. The full history
stays in the database; the summary is kept on the dialog so the person can read it.

Later, at low priority, the model itself rewrites the summary (chat.summaries): a written summary
covers the dialog up to some message, and only what came after it is summarised extractively.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from webapp.characters import lorebook, macros, story
from webapp.characters.story import Definition

MAX_CONTEXT_MESSAGES = 20
KEEP_FIRST = 2
KEEP_LAST = 8
SUMMARY_LIMIT = 1200
SENTENCE_LIMIT = 160

EMOTION = re.compile(
    r"(!{2,}|\?!|!\?|[\U0001F300-\U0001FAFF\u2600-\u27BF]|"
    r"\b(люблю|ненавижу|боюсь|грустно|страшно|обидно|злюсь|счастлив\w*|плачу|ура|спасибо)\b)",
    re.IGNORECASE,
)
COMMAND = re.compile(
    r"^\s*(/\w+|(запомни|называй меня|зови меня|не называй|говори|отвечай|пиши|не пиши|"
    r"перестань|всегда|никогда)\b)",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?…])\s")


@dataclass(frozen=True)
class Turn:
    id: int
    role: str  # "user" or "assistant"
    text: str


@dataclass(frozen=True)
class Written:
    """A summary the model wrote of the dialog up to message `upto_id`."""

    text: str
    upto_id: int


@dataclass(frozen=True)
class Compressed:
    kept: list[Turn]
    summary: str  # "" when nothing was compressed
    summarised_upto: int | None  # the highest message id folded into the summary
    # Folded into the summary but not yet covered by a written one (summarised extractively).
    unwritten: list[Turn] = field(default_factory=list)
    summary_at: int = KEEP_FIRST  # how many kept turns come before the summary


def is_marked(turn: Turn) -> bool:
    """Emotional or a command: the kind of message the model must not forget."""
    return bool(EMOTION.search(turn.text) or (turn.role == "user" and COMMAND.match(turn.text)))


def compress(
    turns: Sequence[Turn],
    limit: int = MAX_CONTEXT_MESSAGES,
    written: Written | None = None,
    max_chars: int | None = None,
) -> Compressed:
    """Keep at most `limit - 1` turns (the summary takes the last place), and, with max_chars,
    no more text than that: the oldest kept turns go too (the newest two always stay). With a
    written summary, it stands for the dropped turns it covers; the later ones are summarised
    here."""
    if len(turns) <= limit:
        kept, dropped = list(turns), []
    else:
        budget = limit - 1
        first = list(turns[:KEEP_FIRST])
        last = list(turns[-KEEP_LAST:])
        middle = list(turns[KEEP_FIRST:-KEEP_LAST])
        room = max(0, budget - len(first) - len(last))
        marked = [turn for turn in middle if is_marked(turn)][-room:] if room else []
        marked_ids = {turn.id for turn in marked}
        dropped = [turn for turn in middle if turn.id not in marked_ids]
        kept = first + marked + last
    if max_chars is not None:
        size = sum(len(turn.text) for turn in kept)
        while len(kept) > 2 and size > max_chars:
            gone = kept.pop(0)
            size -= len(gone.text)
            dropped.append(gone)
        dropped.sort(key=lambda turn: turn.id)
    if not dropped:
        return Compressed(kept, "", None)
    upto = max(turn.id for turn in dropped)
    before = sum(turn.id < dropped[0].id for turn in kept)  # where the summary goes
    if written is None:
        return Compressed(kept, summarise(dropped), upto, dropped, before)
    unwritten = [turn for turn in dropped if turn.id > written.upto_id]
    summary = "\n".join(part for part in (written.text, summarise(unwritten)) if part)
    return Compressed(kept, summary, upto, unwritten, before)


def summarise(turns: Sequence[Turn]) -> str:
    """An extractive summary: the first sentence of each turn, newest kept when space runs out."""
    lines: list[str] = []
    size = 0
    for turn in reversed(turns):
        sentence = SENTENCE_END.split(" ".join(turn.text.split()), maxsplit=1)[0]
        if len(sentence) > SENTENCE_LIMIT:
            sentence = sentence[: SENTENCE_LIMIT - 1].rstrip() + "…"
        if not sentence:
            continue
        line = ("Пользователь: " if turn.role == "user" else "Персонаж: ") + sentence
        if size + len(line) > SUMMARY_LIMIT:
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(reversed(lines))


def build_prompt(
    definition: Definition,
    turns: Sequence[Turn],
    *,
    user_name: str,
    persona: str = "",
    written: Written | None = None,
    max_chars: int | None = None,
    seed: int = 0,
    turn_count: int | None = None,
) -> tuple[list[dict[str, str]], Compressed]:
    """Chat messages for the model, and what compression did to get there: the character's
    story string (characters.story) with the person's `persona` and the lorebook entries the
    kept history activates, the examples, the history (summary and entries at a depth in their
    places), the post-history instructions. `max_chars`: the history's share of the node's
    context, in characters (see chat.replies); `seed`: the dialog, for macros that stay put;
    `turn_count`: messages so far."""
    compressed = compress(turns, written=written, max_chars=max_chars)

    def fill(text: str) -> str:
        return macros.expand(text, char=definition.char, user=user_name, seed=seed)

    book = definition.book
    lore = (
        lorebook.activate(book, [turn.text for turn in compressed.kept], turn=turn_count)
        if book.entries
        else lorebook.Activation()
    )
    messages = [{"role": "system", "content": story.system_text(definition, lore, fill, persona)}]
    messages += story.example_messages(definition, fill)
    history: list[dict[str, str]] = []
    summary_at = compressed.summary_at if compressed.summary else None
    for index, turn in enumerate(compressed.kept):
        if index == summary_at:
            history.append(
                {
                    "role": "system",
                    "content": "Краткое содержание пропущенной части диалога:\n"
                    + compressed.summary,
                }
            )
        history.append({"role": turn.role, "content": turn.text})
    # An entry at depth d goes d messages before the end (0: after the last one).
    for depth, text in sorted(lore.at_depth, key=lambda item: -item[0]):
        history.insert(max(len(history) - depth, 0), {"role": "system", "content": fill(text)})
    messages += history
    after = story.post_history_text(definition, fill)
    if after:
        messages.append({"role": "system", "content": after})
    return messages, compressed
