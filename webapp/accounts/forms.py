from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length


class DeleteAccountForm(FlaskForm):
    email = EmailField(
        _l("Введите ваш email, чтобы подтвердить удаление"),
        validators=[
            DataRequired(_l("Email: введите адрес")),
            Length(max=254, message=_l("Email: не длиннее 254 символов")),
        ],
    )
