"""Form shapes and presence checks only; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


def _email_field() -> EmailField:
    return EmailField(
        _l("Email"), validators=[DataRequired(_l("Email: введите адрес")), Length(max=254)]
    )


def _password_field(label) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(_l("Пароль: введите пароль")), Length(max=1024)]
    )


class LoginForm(FlaskForm):
    email = _email_field()
    password = _password_field(_l("Пароль"))


class RegisterForm(FlaskForm):
    email = _email_field()
    display_name = StringField(
        _l("Имя"), validators=[DataRequired(_l("Имя: как к вам обращаться?")), Length(max=200)]
    )
    password = _password_field(_l("Пароль (не короче 8 символов)"))
    consent = BooleanField(_l("Я согласен(на) с политикой конфиденциальности"))


class EmailForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    password = _password_field(_l("Новый пароль (не короче 8 символов)"))


def attach_errors(form: FlaskForm, errors: dict) -> None:
    """Show a service's {field: message} errors next to the form's fields."""
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
