from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.accounts.access import acts_on_account, may_override, refuse
from webapp.accounts.actions import block_audited
from webapp.accounts.errors import AccountError
from webapp.accounts.models import Role, User
from webapp.audit import audit_action
from webapp.characters.models import Character, CharacterState
from webapp.chat.models import Dialog, Message
from webapp.db import utcnow
from webapp.extensions import db, limiter
from webapp.moderation import service, tables
from webapp.moderation.access import may_report, moderators_only
from webapp.moderation.errors import ModerationError
from webapp.moderation.models import MessageReport, ReportState
from webapp.rendering import render, safe_next

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


def _table(template: str, columns: dict, default: str, build, **extra):
    query = tables.parse(request.args, columns, default)
    if template == "reports" and "state" not in request.args:
        query = tables.TableQuery(query.sort, query.descending, query.page, query.text, "open")
    db.read_only()
    rows, total, pages = build(db.session, query)
    return render(
        f"moderation/{template}.html",
        f"moderation/_{template}_table.html",
        rows=rows,
        total=total,
        pages=pages,
        query=query,
        endpoint=f"moderation.{template}",
        **extra,
    )


@bp.get("/users")
@moderators_only
def users():
    return _table("users", service.USER_COLUMNS, "created", service.users_table)


@bp.get("/characters")
@moderators_only
def characters():
    return _table(
        "characters",
        service.CHARACTER_COLUMNS,
        "reports",
        service.characters_table,
        states=list(CharacterState),
    )


@bp.get("/reports")
@moderators_only
def reports():
    return _table(
        "reports",
        service.REPORT_COLUMNS,
        "created",
        service.reports_table,
        states=list(ReportState),
    )


def _back(default: str):
    return redirect(safe_next(request.form.get("back"), url_for(default)))


@bp.post("/users/<int:user_id>/block")
@moderators_only
@acts_on_account
def block_user(user_id: int):
    target = db.session.get(User, user_id) or abort(404)
    blocked = request.form.get("blocked") == "1"
    try:
        reason = service.clean_reason(request.form.get("reason", "")) if blocked else ""
        block_audited(target, blocked, reason)
    except (ModerationError, AccountError) as exc:
        flash(str(exc), "error")
        return _back("moderation.users")
    db.session.commit()
    flash(_("Пользователь заблокирован") if blocked else _("Пользователь разблокирован"), "ok")
    return _back("moderation.users")


@bp.post("/characters/<int:character_id>/hide")
@moderators_only
def hide_character(character_id: int):
    character = db.session.get(Character, character_id) or abort(404)
    hidden = request.form.get("hidden") == "1"
    if not hidden and not may_override(current_user, character.hidden_rank):
        refuse(f"character:{character.id}", {"state": character.state})
    try:
        before, after = service.set_character_hidden(
            character, hidden, request.form.get("reason", ""), rank=Role(current_user.role).rank
        )
    except ModerationError as exc:
        flash(str(exc), "error")
        return _back("moderation.characters")
    audit_action(
        "character_hidden" if hidden else "character_shown",
        f"character:{character.id}",
        before,
        after,
    )
    db.session.commit()
    flash(_("Персонаж скрыт") if hidden else _("Персонаж снова виден"), "ok")
    return _back("moderation.characters")


@bp.post("/reports/<int:report_id>")
@moderators_only
def handle_report(report_id: int):
    report = db.session.get(MessageReport, report_id) or abort(404)
    decided_by = db.session.get(User, report.handled_by) if report.handled_by else None
    if decided_by is not None and not may_override(current_user, Role(decided_by.role).rank):
        refuse(f"report:{report.id}", {"state": report.state, "handled_by": decided_by.id})
    try:
        before, after = service.handle_report(
            db.session,
            report,
            request.form.get("state", ""),
            request.form.get("note", ""),
            current_user,
            utcnow(),
        )
    except ModerationError as exc:
        flash(str(exc), "error")
        return _back("moderation.reports")
    audit_action("report_handled", f"report:{report.id}", before, after)
    db.session.commit()
    flash(_("Решение по жалобе сохранено"), "ok")
    return _back("moderation.reports")


def _own_message(message_id: int) -> tuple[Message, Dialog]:
    """The message if it is in the signed-in person's dialog; 404 otherwise (no hint it exists)."""
    found = db.session.execute(
        select(Message, Dialog)
        .join(Dialog, Dialog.id == Message.dialog_id)
        .where(Message.id == message_id)
    ).first()
    if found is None or not may_report(current_user, found[1].user_id):
        abort(404)
    return found[0], found[1]


@bp.route("/report/<int:message_id>", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per hour", methods=["POST"])
def report_message(message_id: int):
    message, dialog = _own_message(message_id)
    back = url_for("chat.dialog", dialog_id=dialog.id) + f"#m-{message.id}"
    error = None
    if request.method == "POST":
        try:
            service.report_message(
                db.session, current_user, message, dialog, request.form.get("reason", ""), utcnow()
            )
        except ModerationError as exc:
            error = str(exc)
        else:
            db.session.commit()
            flash(_("Жалоба отправлена модераторам. Спасибо!"), "ok")
            return redirect(back)
    return render(
        "moderation/report.html",
        "moderation/report.html",
        status=422 if error else 200,
        message=message,
        back=back,
        error=error,
        reason=request.form.get("reason", ""),
    )
