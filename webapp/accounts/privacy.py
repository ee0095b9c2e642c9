"""The "download my data" export: the account's own part here, and each domain's part from the
exporter it registers (the app factory does: `add_exporter(app, "dialogs", chat.privacy...)`),
so accounts never imports the domains that hold a person's content. Likewise erasers: what a
domain keeps outside the database (files) goes when the account does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

Exporter = Callable[[Session, int], Any]  # (session, user id) -> JSON-ready data
EXPORTERS = "mehhost.data_exporters"


def add_exporter(app: Flask, name: str, exporter: Exporter) -> None:
    app.extensions.setdefault(EXPORTERS, {})[name] = exporter


def exporters(app: Flask) -> dict[str, Exporter]:
    return dict(app.extensions.get(EXPORTERS, {}))


Eraser = Callable[[Session, int], None]  # (session, user id): before the account's row goes
ERASERS = "mehhost.data_erasers"


def add_eraser(app: Flask, eraser: Eraser) -> None:
    app.extensions.setdefault(ERASERS, []).append(eraser)


def erasers(app: Flask) -> list[Eraser]:
    return list(app.extensions.get(ERASERS, []))
