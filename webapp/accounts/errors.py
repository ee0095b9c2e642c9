class AccountError(Exception):
    """Base class; str() is a message fit to show the person (Russian, names the field)."""


class EmailTaken(AccountError):
    pass


class InvalidAccountData(AccountError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
