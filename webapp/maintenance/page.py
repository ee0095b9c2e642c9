"""The static maintenance page nginx shows for 502/503/504 (config/maintenance/maintenance.html),
written with the expected end and the reason into the folder nginx serves it from, so it shows
even while the app and the database are down."""

from __future__ import annotations

import html
import os
from datetime import datetime
from pathlib import Path

from config.settings import PROJECT_ROOT
from webapp.i18n import MOSCOW

TEMPLATE = PROJECT_ROOT / "config" / "maintenance" / "maintenance.html"
FILE_NAME = "maintenance.html"


def _fill(page: str, marker: str, content: str) -> str:
    start, end = f"<!--mehhost:{marker}-->", f"<!--/mehhost:{marker}-->"
    head, rest = page.split(start, 1)
    _old, tail = rest.split(end, 1)
    return head + start + content + end + tail


def render(until: datetime | None = None, reason: str = "") -> str:
    """The page with the expected end (Moscow time) and the reason filled in, both escaped."""
    page = TEMPLATE.read_text(encoding="utf-8")
    if until is not None:
        local = until.astimezone(MOSCOW)
        page = _fill(
            page,
            "until",
            f"Ожидаемое окончание: {local.strftime('%d.%m.%Y %H:%M')} по Москве.",
        )
    return _fill(page, "reason", html.escape(reason.strip()[:300]))


def write(folder: Path, until: datetime | None = None, reason: str = "") -> Path:
    """Write the page into `folder` atomically (nginx never serves half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    temporary = folder / f".{FILE_NAME}.tmp"
    temporary.write_text(render(until, reason), encoding="utf-8")
    os.chmod(temporary, 0o644)
    temporary.replace(target)
    return target
