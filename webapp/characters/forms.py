"""The character editor form: shapes only; editor.clean holds the rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.characters.editor import FILTERS, MAX_EXAMPLES, Draft


class ExampleForm(FlaskForm):
    class Meta:
        csrf = False

    user = TextAreaField(_l("Реплика пользователя"))
    reply = TextAreaField(_l("Ответ персонажа"))


FILTER_LABELS = {
    "profanity": _l("Нецензурная лексика"),
    "violence": _l("Насилие"),
    "adult": _l("Контент 18+"),
}
STATE_LABELS = [
    SelectChoice("draft", _l("Черновик")),
    SelectChoice("published", _l("Опубликован")),
    SelectChoice("hidden", _l("Скрыт")),
]


class CharacterForm(FlaskForm):
    name = StringField(_l("Имя (2–50 символов)"))
    description = TextAreaField(_l("Описание (до 500 символов)"))
    system_prompt = TextAreaField(_l("Системный промпт (до 2000 символов)"))
    greeting = TextAreaField(_l("Приветствие"))
    alternate_greetings = TextAreaField(_l("Другие приветствия (по одному в строке)"))
    temperature = DecimalField(_l("Температура (0.0–2.0)"), places=1, validators=[Optional()])
    max_length = IntegerField(_l("Длина ответа, символов (100–2000)"), validators=[Optional()])
    examples = FieldList(FormField(ExampleForm), min_entries=MAX_EXAMPLES, max_entries=MAX_EXAMPLES)
    filters = SelectMultipleField(
        _l("Фильтры контента"),
        choices=[SelectChoice(name, FILTER_LABELS[name]) for name in FILTERS],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
    )
    tags = StringField(_l("Теги через запятую"))
    state = SelectField(_l("Состояние"), choices=STATE_LABELS, validate_choice=False)
    confirm_similar = BooleanField(_l("Да, сохранить, хотя промпт похож"))
    avatar = FileField(_l("Аватар: PNG, JPEG или WebP до 2 МБ"))

    def to_draft(self) -> Draft:
        return Draft(
            name=self.name.data or "",
            description=self.description.data or "",
            system_prompt=self.system_prompt.data or "",
            greeting=self.greeting.data or "",
            alternate_greetings=(self.alternate_greetings.data or "").splitlines(),
            temperature=float(self.temperature.data if self.temperature.data is not None else 0.8),
            max_length=int(self.max_length.data if self.max_length.data is not None else 2000),
            examples=[
                {"user": e.user.data or "", "reply": e.reply.data or ""} for e in self.examples
            ],
            filters=list(self.filters.data or []),
            tags=(self.tags.data or "").split(","),
            state=self.state.data or "draft",
        )

    def fill(self, character) -> None:
        self.name.data = character.name
        self.description.data = character.description
        self.system_prompt.data = character.system_prompt
        self.greeting.data = character.greeting
        self.alternate_greetings.data = "\n".join(character.alternate_greetings or [])
        self.temperature.data = character.temperature
        self.max_length.data = character.max_length
        for entry, example in zip(self.examples, character.examples or [], strict=False):
            entry.user.data, entry.reply.data = example["user"], example["reply"]
        self.filters.data = list(character.filters or [])
        self.tags.data = ", ".join(character.tags or [])
        self.state.data = character.state
