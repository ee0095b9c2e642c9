from flask_babel import lazy_gettext as _l


class ChatError(Exception):
    """str() is a message fit to show the person."""


class DialogNotFound(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Диалог не найден"))


class MessageEmpty(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Сообщение пустое: напишите что-нибудь"))


class TitleInvalid(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Название: от 1 до 120 символов"))


class FavoritesFull(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("В избранном уже 50 сообщений. Уберите одно, чтобы добавить новое."))


class AiPaused(ChatError):
    """Replies are stopped for maintenance; the person's message is kept."""
