"""Rendering helpers shared by every domain's views."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    # A boosted request wants a whole page; any other htmx request wants the fragment.
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def render(page: str, fragment: str, status: int = 200, **context: Any) -> Response:
    """The page for a normal request, the fragment alone for htmx; caches keep the two apart."""
    template = fragment if is_htmx() else page
    context.setdefault("partial", fragment)  # a page may simply {% include partial %}
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def refused(reason: str, status: int = 422) -> tuple[str, int, dict[str, str]]:
    """The answer to a script's background request that was refused: the reason as plain text
    (the chat script shows it as a notice)."""
    return reason, status, {"Content-Type": "text/plain; charset=utf-8"}


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from user input, kept on this site (no scheme, no host, no //).

    Control characters (a newline would end the Location header: werkzeug refuses it with a
    500) and backslashes (browsers read "/\\evil.example" as "//evil.example") are refused too.
    """
    if not target:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F or char == "\\" for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def drop_empty(arguments: dict[str, Any]) -> dict[str, Any]:
    """URL arguments without the empty ones, so links stay short."""
    return {key: value for key, value in arguments.items() if value not in ("", None)}
