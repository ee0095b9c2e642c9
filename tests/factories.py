"""Test data factories: valid objects with overridable fields, saved through the real services.

Each factory commits; inside a test that only releases a savepoint of the rolled-back transaction.
"""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

from webapp.accounts.models import Role, User
from webapp.accounts.service import create_user
from webapp.characters.models import Character, CharacterState, name_key
from webapp.chat.models import Dialog, Message
from webapp.db import utcnow

_sequence = itertools.count(1)
PASSWORD = "correct horse battery staple"


def user(session, pii, *, role: Role = Role.USER, email: str | None = None, **kwargs) -> User:
    number = next(_sequence)
    created = create_user(
        session,
        pii,
        email=email or f"user{number}@example.ru",
        password=kwargs.pop("password", PASSWORD),
        display_name=kwargs.pop("display_name", f"Пользователь {number}"),
        bcrypt_rounds=4,
        role=role,
        confirmed=kwargs.pop("confirmed", True),
    )
    # Commit (a savepoint inside the test's transaction): requests close the session, which would
    # discard data that was only flushed.
    session.commit()
    return created


def character(session, **kwargs) -> Character:
    number = next(_sequence)
    name = kwargs.pop("name", f"Персонаж {number}")
    item = Character(
        name=name,
        name_key=name_key(name),
        description=kwargs.pop("description", "Описание"),
        system_prompt=kwargs.pop("system_prompt", f"Ты персонаж номер {number}."),
        state=kwargs.pop("state", CharacterState.PUBLISHED),
        **kwargs,
    )
    session.add(item)
    session.commit()
    return item


def dialog(
    session, user_id: int, character_id: int, count: int, text: str, *, roles=("user",)
) -> Dialog:
    """A dialog of `count` messages a second apart, written straight in (as years of chatting
    would leave it): text is formatted with the message's number n; roles take turns."""
    item = Dialog(user_id=user_id, character_id=character_id, title="длинный", message_count=count)
    session.add(item)
    session.flush()
    now = utcnow()
    session.add_all(
        Message(
            dialog_id=item.id,
            role=roles[n % len(roles)],
            text=text.format(n=n),
            status="delivered" if roles[n % len(roles)] == "user" else "done",
            created_at=now + timedelta(seconds=n),
        )
        for n in range(count)
    )
    session.commit()
    return item


def report(session, message: Message, reporter_id: int, reason: str = "Плохо"):
    """A filed report, as moderation.service.report_message keeps it (text and character)."""
    from webapp.moderation.models import MessageReport

    dialog = session.get(Dialog, message.dialog_id)
    filed = MessageReport(
        message_id=message.id,
        character_id=dialog.character_id,
        text=message.text,
        reporter_id=reporter_id,
        reason=reason,
    )
    session.add(filed)
    return filed


def metric_history(
    session,
    *,
    days: float,
    metrics: tuple[str, ...] = ("cpu_percent",),
    value=lambda n: 50 + 30 * math.sin(2 * math.pi * n / 144),
    source: str = "pc",
) -> None:
    """Ten-minute points of `metrics` over the last `days`, value(n) for the n-th step."""
    from webapp.db import utcnow
    from webapp.monitoring.models import MetricPoint

    now = utcnow().replace(second=0, microsecond=0)
    steps = int(days * 144)
    for n in range(steps):
        point = float(value(n))
        for metric in metrics:
            session.add(
                MetricPoint(
                    source=source,
                    metric=metric,
                    step=600,
                    bucket=now - timedelta(minutes=10 * (steps - n)),
                    mean=point,
                    peak=point,
                    low=point,
                    samples=60,
                )
            )
    session.commit()
