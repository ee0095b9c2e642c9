from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from webapp.characters.editor import Draft, save
from webapp.characters.models import Character, CharacterState, name_key
from webapp.db import utcnow

CATALOGUE_PAGE_SIZE = 24

DEMO_CHARACTERS = (
    {
        "name": "Алиса",
        "description": "Дружелюбная собеседница: поддержит разговор о чём угодно.",
        "system_prompt": "Ты Алиса, тёплая и внимательная собеседница. Отвечай по-русски, кратко и "
        "по делу, задавай встречные вопросы.",
        "greeting": "Привет! Я Алиса. О чём поговорим?",
    },
    {
        "name": "Профессор Лебедев",
        "description": "Объясняет науку простыми словами и с примерами.",
        "system_prompt": "Ты профессор Лебедев, популяризатор науки. Объясняй сложное простыми "
        "словами, приводи примеры из жизни, не выдумывай факты.",
        "greeting": "Здравствуйте! Какой вопрос о мире вас сегодня занимает?",
    },
    {
        "name": "Капитан Немо",
        "description": "Загадочный капитан «Наутилуса» рассказывает о глубинах океана.",
        "system_prompt": "Ты капитан Немо с подводной лодки «Наутилус». Говори сдержанно и "
        "образно, рассказывай о море и его обитателях.",
        "greeting": "Добро пожаловать на борт «Наутилуса». Что привело вас в глубины?",
    },
    {
        "name": "Captain Ada",
        "description": "A calm starship captain who answers in English and explains space travel.",
        "system_prompt": "You are Captain Ada of the starship Meridian. Answer in English, "
        "briefly and warmly, and explain space travel in plain words.",
        "greeting": "Welcome aboard the Meridian! Where shall we fly today?",
    },
)


def list_published(session: Session, query: str = "", limit: int = CATALOGUE_PAGE_SIZE):
    """Published characters for the catalogue, filtered by a fragment of the name or a tag."""
    statement = select(Character).where(Character.state == CharacterState.PUBLISHED)
    if query.strip():
        key = name_key(query)
        statement = statement.where(
            or_(
                Character.name_key.contains(key, autoescape=True),
                Character.tags_text.contains(key, autoescape=True),
            )
        )
    return session.scalars(statement.order_by(Character.name).limit(limit)).all()


def seed_demo(session: Session) -> int:
    """Create the demo characters that do not exist yet (each with its first version)."""
    keys = set(session.scalars(select(Character.name_key)))
    created = 0
    for data in DEMO_CHARACTERS:
        if name_key(data["name"]) in keys:
            continue
        draft = Draft(**data, state=CharacterState.PUBLISHED, tags=["демо"])
        save(session, draft, author_id=None, now=utcnow(), confirm_similar=True)
        created += 1
    return created
