"""The character editor form: shapes only; editor.clean holds the rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.characters.editor import (
    FILTERS,
    IMPORTED_MAX_GREETINGS,
    MAX_EXAMPLES,
    TEXT_FIELDS,
    Draft,
)


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
    # The character being edited (empty for a new one): the preview reads its card and lorebook.
    character_id = HiddenField()
    name = StringField(_l("Имя (2–50 символов)"))
    nickname = StringField(_l("Короткое имя для {{char}} (необязательно)"))
    description = TextAreaField(_l("Описание для каталога (до 500 символов)"))
    system_prompt = TextAreaField(_l("Системный промпт"))
    definition = TextAreaField(_l("Описание для модели: кто этот персонаж"))
    personality = TextAreaField(_l("Характер"))
    scenario = TextAreaField(_l("Сценарий"))
    mes_example = TextAreaField(
        _l("Примеры диалога в формате карточки (блоки START, строки {{user}}: и {{char}}:)")
    )
    post_history = TextAreaField(_l("Инструкции после истории"))
    greeting = TextAreaField(_l("Приветствие"))
    # One box per greeting and one empty box to add another (no script needed).
    alternate_greetings = FieldList(
        TextAreaField(_l("Другое приветствие")), max_entries=IMPORTED_MAX_GREETINGS + 1
    )
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
    confirm_similar = BooleanField(_l("Да, сохранить, хотя определение похоже"))
    avatar = FileField(_l("Аватар: PNG, JPEG или WebP до 2 МБ"))

    def to_draft(self, character=None) -> Draft:
        """The draft in the form; for a saved character, what the form does not edit (its
        lorebook) is kept, and an imported card's own limits apply."""
        return Draft(
            **{name: getattr(self, name).data or "" for name in TEXT_FIELDS},
            alternate_greetings=[g or "" for g in self.alternate_greetings.data],
            lorebook=character.lorebook if character is not None else None,
            imported=character is not None and character.card is not None,
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
        self.character_id.data = str(character.id)
        for name in TEXT_FIELDS:
            getattr(self, name).data = getattr(character, name)
        while self.alternate_greetings.entries:
            self.alternate_greetings.pop_entry()
        for greeting in character.alternate_greetings or []:
            self.alternate_greetings.append_entry(greeting)
        self.temperature.data = character.temperature
        self.max_length.data = character.max_length
        for entry, example in zip(self.examples, character.examples or [], strict=False):
            entry.user.data, entry.reply.data = example["user"], example["reply"]
        self.filters.data = list(character.filters or [])
        self.tags.data = ", ".join(character.tags or [])
        self.state.data = character.state


def with_blank_greeting(form: CharacterForm) -> CharacterForm:
    """One empty greeting box after the filled ones, to add a greeting without a script."""
    if len(form.alternate_greetings.entries) <= IMPORTED_MAX_GREETINGS and not any(
        not (entry.data or "").strip() for entry in form.alternate_greetings.entries[-1:]
    ):
        form.alternate_greetings.append_entry("")
    return form


POSITION_LABELS = [
    SelectChoice("before_char", _l("перед описанием персонажа")),
    SelectChoice("after_char", _l("после описания персонажа")),
    SelectChoice("depth", _l("в истории, на глубине")),
]
LOGIC_LABELS = [
    SelectChoice("and_any", _l("и любой из доп. ключей")),
    SelectChoice("and_all", _l("и все доп. ключи")),
    SelectChoice("not_any", _l("и ни одного доп. ключа")),
    SelectChoice("not_all", _l("и не все доп. ключи")),
]


class LoreEntryForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField(_l("Название"))
    keys = StringField(_l("Ключи через запятую (/regex/i — регулярное выражение)"))
    secondary_keys = StringField(_l("Дополнительные ключи через запятую"))
    logic = SelectField(_l("Условие"), choices=LOGIC_LABELS, validate_choice=False)
    content = TextAreaField(_l("Текст записи (@@depth 2 и другие декораторы V3 — в начале)"))
    position = SelectField(_l("Куда вставлять"), choices=POSITION_LABELS, validate_choice=False)
    depth = IntegerField(_l("Глубина (сообщений от конца)"), validators=[Optional()])
    order = IntegerField(_l("Порядок вставки"), validators=[Optional()])
    priority = IntegerField(_l("Приоритет при нехватке бюджета"), validators=[Optional()])
    constant = BooleanField(_l("Всегда"))
    enabled = BooleanField(_l("Включена"))
    case_sensitive = BooleanField(_l("С учётом регистра"))
    whole_words = BooleanField(_l("Целые слова"))
    regex = BooleanField(_l("Ключи — регулярные выражения"))
    remove = BooleanField(_l("Удалить запись"))

    def values(self) -> dict:
        number = lambda field, default: int(field.data) if field.data is not None else default  # noqa: E731
        return {
            "name": (self.name.data or "").strip(),
            "keys": self.keys.data or "",
            "secondary_keys": self.secondary_keys.data or "",
            "logic": self.logic.data or "and_any",
            "content": (self.content.data or "").strip(),
            "position": self.position.data or "after_char",
            "depth": number(self.depth, 4),
            "order": number(self.order, 100),
            "priority": number(self.priority, 0),
            "constant": bool(self.constant.data),
            "enabled": bool(self.enabled.data),
            "case_sensitive": bool(self.case_sensitive.data),
            "whole_words": bool(self.whole_words.data),
            "regex": bool(self.regex.data),
        }


class LorebookForm(FlaskForm):
    scan_depth = IntegerField(
        _l("Сколько последних сообщений просматривать"), validators=[Optional()]
    )
    token_budget = IntegerField(_l("Бюджет, токенов"), validators=[Optional()])
    recursive = BooleanField(_l("Искать ключи и в тексте сработавших записей"))
    entries = FieldList(FormField(LoreEntryForm), max_entries=501)

    def fill(self, values: dict, entries: list[dict]) -> None:
        self.scan_depth.data = values["scan_depth"]
        self.token_budget.data = values["token_budget"]
        self.recursive.data = values["recursive"]
        for shown in [
            *entries,
            {"enabled": True, "position": "after_char", "depth": 4, "order": 100, "priority": 0},
        ]:
            self.entries.append_entry(shown)

    def settings(self, shown: dict) -> dict:
        pick = lambda field, name: int(field.data) if field.data is not None else shown[name]  # noqa: E731
        return {
            "scan_depth": pick(self.scan_depth, "scan_depth"),
            "token_budget": pick(self.token_budget, "token_budget"),
            "recursive": bool(self.recursive.data),
        }
