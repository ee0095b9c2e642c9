"""Error pages in Russian for every status we produce; JSON for clients that ask for JSON."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.bus import BusUnavailable
from webapp.extensions import db
from webapp.rendering import render

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Некорректный запрос"),
        _l("Проверьте введённые данные и попробуйте ещё раз."),
    ),
    403: (
        _l("Доступ запрещён"),
        _l("У вашей учётной записи нет прав на эту страницу."),
    ),
    404: (
        _l("Страница не найдена"),
        _l("Возможно, ссылка устарела или в адресе опечатка."),
    ),
    405: (_l("Метод не поддерживается"), _l("Этот адрес не принимает такой запрос.")),
    413: (_l("Слишком большой запрос"), None),  # the detail names this address's limit
    422: (
        _l("Не удалось обработать данные"),
        _l("Исправьте отмеченные поля и повторите."),
    ),
    429: (_l("Слишком много запросов"), _l("Подождите минуту и попробуйте снова.")),
    500: (
        _l("Внутренняя ошибка сервера"),
        _l("Мы уже знаем о проблеме. Попробуйте позже."),
    ),
    503: (
        _l("Сервис временно недоступен"),
        _l("База данных или очередь сообщений не отвечает. Обновите страницу через минуту."),
    ),
}
CSRF_MESSAGE = (
    _l("Страница устарела"),
    _l("Срок действия формы истёк. Обновите страницу и отправьте форму ещё раз."),
)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _error_response(code: int, title, detail):
    if _wants_json():
        response = jsonify(error=code, title=str(title), detail=str(detail))
        response.status_code = code
        return response
    return render(
        "errors/error.html",
        "errors/_error.html",
        code,
        code=code,
        title=title,
        detail=detail,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return _error_response(400, *CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = error.code or 500
        if code not in MESSAGES:
            return error
        title, detail = MESSAGES[code]
        if code == 413:  # the limit of this address (an upload page may take more than others)
            megabytes = format_decimal(round((request.max_content_length or 0) / 1048576, 1))
            detail = _l("Размер запроса больше %(mb)s МБ. Уменьшите файл.", mb=megabytes)
        response = _error_response(code, title, detail)
        if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(BusUnavailable)
    @app.errorhandler(OperationalError)
    def _unavailable(error: Exception):
        # Redis or the database is away (stopped, restarting, unreachable): say so at once
        # rather than fail as a bug; /healthz tells which one.
        db.session.remove()
        log.warning("%s %s: unavailable: %s", request.method, request.path, error)
        response = _error_response(503, *MESSAGES[503])
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError):
        db.session.rollback()
        log.error(
            "unhandled error on %s %s",
            request.method,
            request.path,
            exc_info=error.original_exception,
        )
        return _error_response(500, *MESSAGES[500])
