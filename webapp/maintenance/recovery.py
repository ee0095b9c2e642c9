"""Bringing the service back after a stop, step by step, with progress anyone on the admin page
can watch.

The steps run in order (in the worker): the database answers, its schema is at the code's
migration head, Redis answers (where configured), the AI link is up (a missing one is a
warning: the site works and replies come later), then the flag is lifted and the people who
were told about the stop hear it is over. A failed step stops the recovery there and says why;
the window stays down, and the next try starts from the first step. The progress is a bus
value (the page polls it; without JavaScript it refreshes itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_babel import gettext as _
from sqlalchemy import text
from sqlalchemy.orm import Session

from config.settings import PROJECT_ROOT, Settings
from webapp.bus import Bus
from webapp.inference.status import read_status
from webapp.maintenance import emails
from webapp.maintenance.flag import CHANNEL, FLAG_KEY
from webapp.maintenance.models import MaintenanceWindow, State
from webapp.pii import PiiCipher

PROGRESS_TTL_S = 24 * 3600
OK, WARN, ERROR, WAITING = "ok", "warn", "error", "waiting"


class StepFailed(RuntimeError):
    """The step's check did not pass; the message says what, for the admin."""


def lift_flag(bus: Bus, window: MaintenanceWindow, now: datetime) -> None:
    """Lift the flag; the window is over. (The page stays on disk: nginx shows it only while
    the app does not answer.)"""
    flag = bus.get(FLAG_KEY)
    if flag and flag.get("window") == window.id:
        bus.delete(FLAG_KEY)
    bus.publish(CHANNEL, {"type": "maintenance_end", "window": window.id})
    window.state, window.recovered_at = State.UP, now


def progress_key(window_id: int) -> str:
    return f"maintenance:recovery:{window_id}"


def _database(session: Session, bus: Bus, settings: Settings) -> tuple[str, str]:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        raise StepFailed(_("база не отвечает: %(e)s", e=str(exc).splitlines()[0])) from None
    return OK, ""


def _schema(session: Session, bus: Bus, settings: Settings) -> tuple[str, str]:
    head = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini"))).get_current_head()
    current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current != head:
        raise StepFailed(
            _(
                "схема на ревизии %(c)s, код ждёт %(h)s: выполните alembic upgrade head",
                c=current,
                h=head,
            )
        )
    return OK, str(head)


def _redis(session: Session, bus: Bus, settings: Settings) -> tuple[str, str]:
    if not settings.redis_url:
        return OK, _("не настроен: встроенная шина")
    if not bus.ping():
        raise StepFailed(_("Redis не отвечает"))
    return OK, ""


def _ai(session: Session, bus: Bus, settings: Settings) -> tuple[str, str]:
    state = read_status(bus)["state"]
    if state == "offline":
        return WARN, _("узел ИИ не в сети: сайт работает, ответы придут, когда он подключится")
    return OK, state


Step = Callable[[Session, Bus, Settings], tuple[str, str]]


def checks() -> list[tuple[str, Step]]:
    """What must hold before the service is back, in order; then the two closing steps."""
    return [
        (_("База данных"), _database),
        (_("Схема базы"), _schema),
        (_("Redis"), _redis),
        (_("Узел ИИ"), _ai),
    ]


def read(bus: Bus, window_id: int) -> dict | None:
    return bus.get(progress_key(window_id))


def run(
    session: Session,
    bus: Bus,
    cipher: PiiCipher,
    settings: Settings,
    window: MaintenanceWindow,
    now: datetime,
) -> tuple[bool, int]:
    """Run the steps: (True when the service is back, emails queued for after the commit)."""
    plan = checks()
    labels = [label for label, _check in plan] + [_("Снятие режима обслуживания"), _("Уведомления")]
    lift, notify = len(plan), len(plan) + 1
    progress = {
        "window": window.id,
        "of": len(labels),
        "done": 0,
        "steps": [{"label": str(label), "status": WAITING, "note": ""} for label in labels],
        "finished": False,
        "failed": False,
        "started": time.time(),
    }
    told = 0

    def record(index: int, status: str, note: str = "") -> None:
        progress["steps"][index].update(status=status, note=str(note))
        progress["done"] = index + 1 if status != ERROR else index
        bus.set(progress_key(window.id), progress, ttl=PROGRESS_TTL_S)

    bus.set(progress_key(window.id), progress, ttl=PROGRESS_TTL_S)
    for index, (_label, check) in enumerate(plan):
        try:
            status, note = check(session, bus, settings)
        except StepFailed as exc:
            progress["failed"] = True
            record(index, ERROR, str(exc))
            return False, 0
        record(index, status, note)
    if window.state == State.DOWN:
        lift_flag(bus, window, now)
    record(lift, OK)
    if window.sent:
        told = emails.send(session, cipher, window, "restored")
    progress["finished"] = True
    record(notify, OK, _("писем: %(n)s", n=told))
    return True, told
