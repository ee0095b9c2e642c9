"""Form shapes and presence checks only; the rules themselves live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

EMAIL_LENGTH = Length(max=254, message=_l("Email: не длиннее 254 символов"))
PASSWORD_LENGTH = Length(max=1024, message=_l("Пароль: не длиннее 1024 символов"))


def _email_field() -> EmailField:
    return EmailField(
        _l("Email"), validators=[DataRequired(_l("Email: введите адрес")), EMAIL_LENGTH]
    )


def _password_field(label) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(_l("Пароль: введите пароль")), PASSWORD_LENGTH]
    )


class LoginForm(FlaskForm):
    email = _email_field()
    password = _password_field(_l("Пароль"))


class RegisterForm(FlaskForm):
    # No presence checks here: registration.registration_problems reports every field at once.
    email = EmailField(_l("Email"), validators=[EMAIL_LENGTH])
    display_name = StringField(
        _l("Имя"), validators=[Length(max=200, message=_l("Имя: не длиннее 50 символов"))]
    )
    password = PasswordField(_l("Пароль (не короче 8 символов)"), validators=[PASSWORD_LENGTH])
    consent = BooleanField(_l("Я согласен(на) с политикой конфиденциальности"))


class EmailForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    password = _password_field(_l("Новый пароль (не короче 8 символов)"))
