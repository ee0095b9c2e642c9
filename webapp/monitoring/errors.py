"""Errors of the monitoring domain; the message is for people, the field names the input."""

from __future__ import annotations


class MonitoringError(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
