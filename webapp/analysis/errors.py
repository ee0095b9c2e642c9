"""Errors of the analysis service, in Russian, naming what was wrong."""


class AnalysisError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
