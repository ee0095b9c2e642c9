"""The maintenance request form: shapes and presence only; the rules live in service.py."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from webapp.maintenance.models import Kind, Scope
from webapp.maintenance.service import MAX_DURATION, MAX_REASON, MIN_DURATION, Request

KIND_NAMES = {
    Kind.PLANNED: _l("Плановое"),
    Kind.EMERGENCY: _l("Экстренное (сейчас)"),
    Kind.PARTIAL: _l("Частичное"),
    Kind.TEST: _l("Учебное (ничего не останавливает)"),
}
SCOPE_NAMES = {
    Scope.ALL: _l("Весь сервис"),
    Scope.AI: _l("Только ответы ИИ"),
    Scope.REGISTRATION: _l("Только регистрация"),
}


class WindowForm(FlaskForm):
    kind = SelectField(
        _l("Вид"),
        choices=[SelectChoice(str(k), v) for k, v in KIND_NAMES.items()],
        default=Kind.PLANNED,
    )
    scope = SelectField(
        _l("Что останавливается (для частичного)"),
        choices=[SelectChoice(str(k), v) for k, v in SCOPE_NAMES.items()],
        default=Scope.ALL,
    )
    starts_at = DateTimeLocalField(
        _l("Начало (ваше время)"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    minutes = IntegerField(
        _l("Длительность, минут"),
        default=30,
        validators=[
            InputRequired(_l("Длительность: укажите число минут")),
            NumberRange(
                MIN_DURATION,
                MAX_DURATION,
                _l("Длительность: от %(a)s до %(b)s минут", a=MIN_DURATION, b=MAX_DURATION),
            ),
        ],
    )
    totp = StringField(
        _l("Код из приложения (для экстренного)"),
        validators=[Length(max=7, message=_l("Код: 6 цифр"))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    reason = TextAreaField(
        _l("Причина"),
        validators=[Length(max=MAX_REASON, message=_l("Причина: не длиннее 300 символов"))],
    )

    def to_request(self, zone: str, now: datetime) -> Request | None:
        """The validated request, or None with the field errors set."""
        if not self.validate_on_submit():
            return None
        kind = Kind(self.kind.data)
        if kind != Kind.EMERGENCY and self.starts_at.data is None:
            self.starts_at.errors = [_l("Начало: укажите дату и время")]
            return None
        local = self.starts_at.data or now.replace(tzinfo=None)
        starts = local.replace(tzinfo=ZoneInfo(zone)) if self.starts_at.data else now
        return Request(kind, Scope(self.scope.data), starts, self.minutes.data, self.reason.data)
