"""Making a job fit the model's context, counted in the model's own tokens.

The site sends a prompt it built by its own rules; only the node knows the real token count.
Prompt plus reply must fit the context: the oldest history turns are dropped first (the
leading system messages, the person's last message and what follows it are always kept), then
the reply is shortened, and only a prompt that cannot fit any other way has its system text cut.
System messages within the history (the site's summary of older turns) are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PER_MESSAGE = 8  # chat-template markup around each message (role headers, separators)
PER_PROMPT = 16  # the template's start and the assistant header it ends with
SAFETY = 16  # tokenizers and templates differ a little: never run to the last token
MIN_REPLY = 64


@dataclass(frozen=True)
class Fitted:
    messages: list[dict[str, str]]
    max_tokens: int
    dropped: int  # history turns left out


def _cost(message: dict[str, str], count: Callable[[str], int]) -> int:
    return count(message.get("content", "")) + PER_MESSAGE


def prompt_tokens(messages: list[dict[str, str]], count: Callable[[str], int]) -> int:
    return PER_PROMPT + sum(_cost(m, count) for m in messages)


def fit(
    messages: list[dict[str, str]],
    max_tokens: int,
    context_size: int,
    count: Callable[[str], int],
) -> Fitted:
    budget = context_size - SAFETY
    costs = [_cost(m, count) for m in messages]
    total = PER_PROMPT + sum(costs)
    if total + max_tokens <= budget:
        return Fitted(messages, max_tokens, 0)
    head = 0
    while head < len(messages) and messages[head].get("role") == "system":
        head += 1
    last_user = max(
        (i for i, m in enumerate(messages) if m.get("role") == "user" and i >= head),
        default=len(messages),
    )
    gone: set[int] = set()
    for index in range(head, last_user):  # oldest history first
        if total + max_tokens <= budget:
            break
        if messages[index].get("role") == "system":
            continue  # the site's summary of older turns stands for what is dropped here
        gone.add(index)
        total -= costs[index]
    fitted = [m for i, m in enumerate(messages) if i not in gone]
    room = budget - total
    reply = max(min(max_tokens, MIN_REPLY), 1)
    if room >= reply:
        return Fitted(fitted, min(max_tokens, room), len(gone))
    # Even the bare prompt is too long: the system text gives way (kept from its start). The
    # leading system messages are never dropped, so their costs are still costs[:head].
    excess = reply - room
    for i, message in enumerate(fitted[:head]):
        content = message.get("content", "")
        tokens = costs[i] - PER_MESSAGE
        if tokens <= excess or excess <= 0:
            continue
        keep_chars = int(len(content) * (tokens - excess) / tokens)
        fitted[i] = {**message, "content": content[:keep_chars]}
        excess = 0
    return Fitted(fitted, reply, len(gone))
