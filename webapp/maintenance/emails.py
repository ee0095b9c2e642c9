"""The emails a maintenance window sends: planned notices, an emergency stop, the cancellation
and the all-clear, each in the person's language and time zone.

Composed while the state that says they were sent is being changed, and handed to notify's
`send_email` only once that state is committed (a rolled-back tick sends nothing, a committed one
never sends twice).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from webapp.accounts.models import Role, User
from webapp.accounts.service import email_of
from webapp.i18n import MOSCOW
from webapp.maintenance.models import Kind, MaintenanceWindow
from webapp.maintenance.service import recipients
from webapp.notify.outbox import queue_text
from webapp.pii import PiiCipher

Email = tuple[str, str, str]  # (to, subject, text)


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone) if user.timezone else MOSCOW
    except (ZoneInfoNotFoundError, ValueError):
        return MOSCOW


def _when(moment: datetime, user: User) -> str:
    """The moment in the person's own time zone, named."""
    zone = _zone(user)
    return f"{moment.astimezone(zone).strftime('%d.%m.%Y %H:%M')} ({zone.key})"


def compose(
    session: Session, cipher: PiiCipher, window: MaintenanceWindow, event: str
) -> list[Email]:
    """One email per recipient (a rehearsal's only to the staff). Needs a request context: the
    emails link to the profile's settings."""
    people = recipients(session)
    if window.kind == Kind.TEST:
        people = [p for p in people if p.role in (Role.ADMIN, Role.MODERATOR)]
    settings_link = url_for("accounts.profile", _external=True)
    emails = []
    for person in people:
        with force_locale(person.locale or "ru"):
            subject = {
                "cancelled": _("mehhost chat: обслуживание отменено"),
                "restored": _("mehhost chat снова работает"),
                "emergency": _("mehhost chat: экстренное отключение"),
            }.get(event, _("mehhost chat: плановое обслуживание"))
            text = render_template(
                "email/maintenance.txt",
                name=person.display_name,
                event=event,
                scope=window.scope,
                starts=_when(window.starts_at, person),
                ends=_when(window.ends_at, person),
                reason=window.reason,
                settings_link=settings_link,
            )
        emails.append((email_of(person, cipher), str(subject), text))
    return emails


def send(session: Session, cipher: PiiCipher, window: MaintenanceWindow, event: str) -> int:
    """Compose the event's emails and queue each for after the session's commit; their count."""
    emails = compose(session, cipher, window, event)
    for to, subject, text in emails:
        queue_text(session, to, subject, text)
    return len(emails)
