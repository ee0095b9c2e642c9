"""A person's message, the one use case behind the no-JavaScript form and the chat socket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.characters.models import Character
from webapp.chat import drafts, replies, service
from webapp.chat.errors import AiPaused
from webapp.chat.models import Dialog, Message

CUT_NOTICE = _l(
    "Сообщение длиннее 1000 символов: отправлены первые 900 и последние 100, середина убрана."
)


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: a resend of a message already stored (same client_id)
    cut: bool  # longer than the limit: cut (see service.clean_user_text)
    paused: str | None = None  # replies are paused for maintenance: what to tell the person


def send_message(
    session: Session,
    bus: Bus,
    dialog: Dialog,
    *,
    user_id: int,
    user_name: str,
    text: str,
    client_id: str | None,
    now: datetime,
) -> Sent:
    """Store the message and ask for the reply, in two transactions (both committed here).

    The message is stored and shown on the person's other devices first; asking for the reply
    builds the prompt from the history and is a transaction of its own, so a failure there never
    loses the message. Raises the service's ChatError for bad input (nothing stored then).
    """
    message, created, cut = service.add_user_message(session, bus, dialog, text, client_id, now)
    if not created:
        session.commit()
        return Sent(message, False, cut)
    drafts.clear_on_commit(session, bus, user_id, dialog.id)
    session.commit()
    character = session.get(Character, dialog.character_id)
    try:
        replies.request_reply(session, bus, dialog, character, user_name=user_name, now=now)
    except AiPaused as exc:  # raised before anything is written: the message stays
        session.rollback()
        return Sent(message, True, cut, str(exc))
    session.commit()
    return Sent(message, True, cut)
