"""Form helpers shared by every domain."""

from __future__ import annotations

from flask_wtf import FlaskForm


def attach_errors(form: FlaskForm, errors: dict) -> None:
    """Show a service's {field: message} errors next to the form's fields."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
