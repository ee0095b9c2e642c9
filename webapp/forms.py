"""Form helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, request
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

# Ids and page numbers fit the database's INT (SQLite refuses larger numbers with OverflowError).
MAX_ID = 2**31 - 1
PAGE_LIMIT = 100_000  # the deepest page a table offers


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a number past MAX_ID matches no route (404), never a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def query_int(
    name: str,
    default: int | None = None,
    *,
    low: int = 1,
    high: int = MAX_ID,
    args: Mapping[str, str] | None = None,
):
    """A numeric query parameter (of `args`, else this request's): absent gives `default`;
    anything but a whole number from `low` to `high` is a bad request (400)."""
    raw = (request.args if args is None else args).get(name, "")
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        abort(400)
    return int(raw)


def attach_errors(form: FlaskForm, errors: dict) -> None:
    """Show a service's {field: message} errors next to the form's fields (one the form has no
    field for, above the form: never dropped)."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def upload_limit(limit: int):
    """A view that takes larger uploads than MAX_CONTENT_LENGTH (a card PNG): the limit is set
    before anything reads the body (CSRF protection included), by `apply_upload_limit`."""

    def mark(view):
        view.upload_limit = limit
        return view

    return mark


def apply_upload_limit() -> None:
    from flask import current_app, request

    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "upload_limit", None)
    if limit:
        request.max_content_length = limit
