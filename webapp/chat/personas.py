"""Personas: who the person is in a dialog. The name fills {{user}} (in greetings, the card and
the prompt), the description goes into the story string after the scenario, as SillyTavern puts
it. Without a persona the person is their display name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.characters import avatars
from webapp.chat.errors import ChatError
from webapp.chat.models import Dialog, Persona
from webapp.db import on_commit

NAME_MAX = 50
DESCRIPTION_MAX = 1000
PERSONAS_MAX = 20


class PersonaInvalid(ChatError):
    def __init__(self, message, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Speaker:
    """The person as the model meets them in one dialog."""

    name: str
    description: str = ""


def list_personas(session: Session, user_id: int) -> list[Persona]:
    return list(
        session.scalars(select(Persona).where(Persona.user_id == user_id).order_by(Persona.id))
    )


def own(session: Session, user_id: int, persona_id: int) -> Persona:
    persona = session.get(Persona, persona_id)
    if persona is None or persona.user_id != user_id:
        raise PersonaInvalid(_l("Такой персоны нет"), "persona")
    return persona


def save(
    session: Session,
    user_id: int,
    persona: Persona | None,
    *,
    name: str,
    description: str,
    default: bool,
    now: datetime,
    picture: bytes | None = None,
    drop_picture: bool = False,
    avatar_dir: Path | None = None,
) -> Persona:
    """Create (persona None) or change a persona; the one rule for its fields is here.
    `picture`: an uploaded image for its avatar (checked and re-encoded as a character's is)."""
    name = " ".join(name.split())
    description = description.replace("\r\n", "\n").strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise PersonaInvalid(_l("Имя персоны: от 1 до %(n)s символов", n=NAME_MAX), "name")
    if len(description) > DESCRIPTION_MAX:
        raise PersonaInvalid(
            _l("Описание: не длиннее %(n)s символов", n=DESCRIPTION_MAX), "description"
        )
    encoded = None
    if picture:
        try:
            encoded = avatars.process(picture)
        except avatars.AvatarInvalid as exc:
            raise PersonaInvalid(str(exc), "avatar") from exc
    if persona is None:
        count = session.scalar(select(func.count()).where(Persona.user_id == user_id)) or 0
        if count >= PERSONAS_MAX:
            raise PersonaInvalid(_l("Персон может быть не больше %(n)s", n=PERSONAS_MAX), "name")
        persona = Persona(user_id=user_id, created_at=now)
        session.add(persona)
    persona.name, persona.description = name, description
    if default:
        session.execute(update(Persona).where(Persona.user_id == user_id).values(is_default=False))
        persona.is_default = True
    elif persona.is_default:
        persona.is_default = False
    session.flush()
    if (encoded or drop_picture) and avatar_dir is not None:
        old = persona.avatar
        persona.avatar = avatars.store(avatar_dir, f"p{persona.id}", encoded) if encoded else None
        if old != persona.avatar:
            avatars.remove(avatar_dir, old)
    return persona


def delete(session: Session, persona: Persona, avatar_dir: Path | None = None) -> None:
    """Dialogs that used it go back to the default persona."""
    if avatar_dir is not None:
        avatars.remove(avatar_dir, persona.avatar)
    session.execute(update(Dialog).where(Dialog.persona_id == persona.id).values(persona_id=None))
    session.delete(persona)


def default_of(session: Session, user_id: int) -> Persona | None:
    return session.scalar(
        select(Persona).where(Persona.user_id == user_id, Persona.is_default.is_(True))
    )


def choose(session: Session, dialog: Dialog, persona_id: int | None) -> None:
    """This dialog's persona (None: the default one)."""
    dialog.persona_id = own(session, dialog.user_id, persona_id).id if persona_id else None


def speaker(session: Session, dialog: Dialog, display_name: str) -> Speaker:
    """Who the person is in this dialog: its persona, else their default one, else their name."""
    persona = session.get(Persona, dialog.persona_id) if dialog.persona_id else None
    if persona is None or persona.user_id != dialog.user_id:
        persona = default_of(session, dialog.user_id)
    if persona is None:
        return Speaker(display_name)
    return Speaker(persona.name, persona.description)


def speaker_name(session: Session, user_id: int, display_name: str) -> str:
    """The name a new dialog would call the person by (their default persona's)."""
    persona = default_of(session, user_id)
    return persona.name if persona else display_name


def erase_pictures(session: Session, user_id: int, avatar_dir: Path) -> None:
    """The person's persona pictures go with their account (once its deletion commits)."""
    names = [p.avatar for p in list_personas(session, user_id) if p.avatar]
    if names:
        on_commit(session, lambda: [avatars.remove(avatar_dir, name) for name in names])
