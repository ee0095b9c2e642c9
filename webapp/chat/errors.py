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


class SwipeInvalid(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Такого варианта ответа нет: обновите страницу"))


class NotLastReply(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Так можно только с последним ответом персонажа"))


class ReplyOpen(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Ответ ещё пишется: дождитесь его или нажмите «Стоп»"))


class EditInvalid(ChatError):
    def __init__(self, limit: int) -> None:
        super().__init__(_l("Текст сообщения: от 1 до %(n)s символов", n=limit))


class ReplyFull(ChatError):
    def __init__(self) -> None:
        super().__init__(_l("Ответ уже максимальной длины: продолжить его нельзя"))
