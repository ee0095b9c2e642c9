"""Errors of the maintenance domain; the message is for people, the field names the input."""

from __future__ import annotations


class MaintenanceError(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
