"""Frames of the chat socket checked against docs/openapi.json (x-websocket-messages of
/ws/chat/{dialog_id}): what a browser sent, what the server pushed."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema

DOC = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "openapi.json").read_text(encoding="utf-8")
)
SOCKET = DOC["paths"]["/ws/chat/{dialog_id}"]["get"]["x-websocket-messages"]
VOID = {"br", "hr", "img", "input", "meta", "link"}


def check_client_frame(frame: str) -> None:
    """A frame the browser sent is one of the documented objects."""
    schema = {**SOCKET["client"], "components": DOC["components"]}
    jsonschema.validate(json.loads(frame), schema)


class _Roots(HTMLParser):
    """Where each top-level element of a frame starts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.starts: list[tuple[int, int]] = []

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            self.starts.append(self.getpos())
        if tag not in VOID:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        if self.depth == 0:
            self.starts.append(self.getpos())

    def handle_endtag(self, tag):
        if tag not in VOID:
            self.depth -= 1


def fragments(frame: str) -> list[str]:
    parser = _Roots()
    parser.feed(frame)
    parser.close()
    lines = frame.splitlines(keepends=True)
    offsets = [
        sum(len(line) for line in lines[: number - 1]) + column for number, column in parser.starts
    ]
    return [
        frame[start:end] for start, end in zip(offsets, [*offsets[1:], len(frame)], strict=True)
    ]


def check_server_frame(frame: str) -> list[str]:
    """Every top-level fragment of a pushed frame is one of the documented kinds; their names."""
    kinds = []
    for piece in fragments(frame):
        matching = [
            name for name, kind in SOCKET["server"].items() if re.match(kind["pattern"], piece)
        ]
        assert matching, f"an undocumented fragment: {piece[:120]!r}"
        kinds.append(matching[0])
    return kinds
