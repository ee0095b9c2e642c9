"""Moderation services: the three tables, reports, hiding characters."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.accounts.models import User, name_hash
from webapp.characters.models import Character, CharacterState
from webapp.chat.models import Dialog, Message
from webapp.moderation.errors import ModerationError
from webapp.moderation.models import MessageReport, ReportState
from webapp.moderation.tables import TableQuery, page_of
from webapp.monitoring import logs
from webapp.pii import active_cipher

REASON_MAX = 300

_message_counts = (
    select(Dialog.user_id, func.count(Message.id).label("messages"))
    .join(Message, Message.dialog_id == Dialog.id)
    .group_by(Dialog.user_id)
    .subquery()
)
_report_counts = (
    select(MessageReport.character_id, func.count(MessageReport.id).label("reports"))
    .where(MessageReport.state == ReportState.OPEN)
    .group_by(MessageReport.character_id)
    .subquery()
)
_dialog_counts = (
    select(Dialog.character_id, func.count(Dialog.id).label("dialogs"))
    .group_by(Dialog.character_id)
    .subquery()
)
# Names are encrypted at rest: a table cannot sort by them, only find one whole (keyed hash).
USER_COLUMNS = {
    "role": User.role,
    "created": User.created_at,
    "messages": func.coalesce(_message_counts.c.messages, 0),
}
CHARACTER_COLUMNS = {
    "name": Character.name,
    "state": Character.state,
    "version": Character.version,
    "updated": Character.updated_at,
    "dialogs": func.coalesce(_dialog_counts.c.dialogs, 0),
    "reports": func.coalesce(_report_counts.c.reports, 0),
}
REPORT_COLUMNS = {
    "created": MessageReport.created_at,
    "state": MessageReport.state,
    "character": Character.name,
}


def clean_reason(reason: str, field: str = "reason") -> str:
    """The one rule for a moderator's or reporter's reason: 3 to 300 characters."""
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ModerationError(_l("Укажите причину (от 3 символов)."), field)
    if len(reason) > REASON_MAX:
        raise ModerationError(_l("Причина: не длиннее 300 символов."), field)
    return reason


def users_table(session: Session, query: TableQuery):
    statement = select(User, USER_COLUMNS["messages"]).outerjoin(
        _message_counts, _message_counts.c.user_id == User.id
    )
    if query.text:
        name = name_hash(active_cipher(), query.text)
        statement = statement.where(User.display_name_hash == name)
    if query.state == "blocked":
        statement = statement.where(User.is_blocked.is_(True))
    elif query.state == "active":
        statement = statement.where(User.is_blocked.is_(False))
    return page_of(session, statement, USER_COLUMNS, query, User.id)


def characters_table(session: Session, query: TableQuery):
    statement = (
        select(Character, CHARACTER_COLUMNS["dialogs"], CHARACTER_COLUMNS["reports"])
        .outerjoin(_dialog_counts, _dialog_counts.c.character_id == Character.id)
        .outerjoin(_report_counts, _report_counts.c.character_id == Character.id)
    )
    if query.text:
        statement = statement.where(Character.name.contains(query.text, autoescape=True))
    if query.state in {state.value for state in CharacterState}:
        statement = statement.where(Character.state == query.state)
    return page_of(session, statement, CHARACTER_COLUMNS, query, Character.id)


def reports_table(session: Session, query: TableQuery):
    statement = (
        select(MessageReport, Character, User)
        .outerjoin(Character, Character.id == MessageReport.character_id)
        .join(User, User.id == MessageReport.reporter_id)
    )
    if query.state in {state.value for state in ReportState}:
        statement = statement.where(MessageReport.state == query.state)
    return page_of(session, statement, REPORT_COLUMNS, query, MessageReport.id)


def report_message(
    session: Session, reporter: User, message: Message, dialog: Dialog, reason: str, now: datetime
) -> MessageReport:
    """File a report (the caller checked the dialog is the reporter's); one open per message.
    The report keeps the text as it is now, whatever later happens to the message."""
    reason = clean_reason(reason)
    existing = session.scalars(
        select(MessageReport).where(
            MessageReport.message_id == message.id,
            MessageReport.reporter_id == reporter.id,
            MessageReport.state == ReportState.OPEN,
        )
    ).first()
    if existing is not None:
        return existing
    report = MessageReport(
        message_id=message.id,
        character_id=dialog.character_id,
        text=message.text,
        reporter_id=reporter.id,
        reason=reason,
        created_at=now,
    )
    session.add(report)
    logs.business(session, "message_reported", user_id=reporter.id, message_id=message.id)
    return report


def handle_report(
    session: Session, report: MessageReport, state: str, note: str, by: User, now: datetime
) -> tuple[dict, dict]:
    """Dismiss or mark a report actioned; (before, after) for the audit log."""
    if state not in (ReportState.DISMISSED, ReportState.ACTIONED):
        raise ModerationError(_l("Выберите решение по жалобе."), "state")
    before = {"state": report.state, "note": report.note}
    report.state, report.note = ReportState(state), note.strip()[:REASON_MAX]
    report.handled_by, report.handled_at = by.id, now
    return before, {"state": report.state, "note": report.note}


def set_character_hidden(
    character: Character, hidden: bool, reason: str, *, rank: int
) -> tuple[dict, dict]:
    """Hide a character from the catalogue (with a reason; `rank` is the deciding moderator's, so
    that a lower rank cannot publish it again) or publish it again."""
    before = {"state": character.state}
    if hidden:
        clean_reason(reason)
        character.state, character.hidden_rank = CharacterState.HIDDEN, rank
    else:
        character.state, character.hidden_rank = CharacterState.PUBLISHED, None
    return before, {"state": character.state, "reason": reason.strip()[:REASON_MAX]}
