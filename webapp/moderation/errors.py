from __future__ import annotations


class ModerationError(ValueError):
    """Bad input to a moderation action; `field` names the form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
