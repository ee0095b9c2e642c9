from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Email: введите адрес")), Length(max=254)],
    )
    password = PasswordField(
        _l("Пароль"),
        validators=[DataRequired(_l("Пароль: введите пароль")), Length(max=1024)],
    )
