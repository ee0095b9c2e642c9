"""Qwen3 and similar models may open with a <think>…</think> block: users never see it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

OPEN, CLOSE = "<think>", "</think>"


def strip_thinking(deltas: Iterable[str]) -> Iterator[str]:
    """Pass text through, dropping every <think>…</think> block even when tags are split
    across deltas, and the blank lines that follow a block."""
    buffer = ""
    thinking = False
    after_block = False
    for delta in deltas:
        buffer += delta
        while buffer:
            if thinking:
                end = buffer.find(CLOSE)
                if end < 0:
                    buffer = buffer[-(len(CLOSE) - 1) :]  # keep a possible partial close tag
                    break
                buffer = buffer[end + len(CLOSE) :]
                thinking, after_block = False, True
                continue
            if after_block:
                buffer = buffer.lstrip()
                if not buffer:
                    break
                after_block = False
            start = buffer.find(OPEN)
            if start >= 0:
                if start:
                    yield buffer[:start]
                buffer = buffer[start + len(OPEN) :]
                thinking = True
                continue
            keep = _partial_tag_suffix(buffer)
            if len(buffer) > keep:
                yield buffer[: len(buffer) - keep]
            buffer = buffer[len(buffer) - keep :]
            break
    if buffer and not thinking:
        yield buffer


def _partial_tag_suffix(text: str) -> int:
    """How many trailing characters could be the start of <think>."""
    for size in range(min(len(OPEN) - 1, len(text)), 0, -1):
        if OPEN.startswith(text[-size:]):
            return size
    return 0
