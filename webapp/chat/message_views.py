"""A message's controls: another version, continue, swipes, edit, delete, a branch. Plain forms
and pages (they work without JavaScript); the chat script posts the same forms in the background
(an htmx request: 204, or 422 with the reason as text) and the change comes back over the socket,
to this device and the person's others alike."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.chat import editing, service
from webapp.chat import favorites as fav
from webapp.chat.errors import ChatError, DialogNotFound
from webapp.chat.models import Dialog, Message
from webapp.db import utcnow
from webapp.extensions import db, get_bus
from webapp.rendering import is_htmx, refused, render

bp = Blueprint("chat_messages", __name__, url_prefix="/chat/messages")


def _own(message_id: int) -> tuple[Message, Dialog]:
    """The person's own message and its dialog; anyone else's does not exist (404)."""
    try:
        message = fav.own_message(db.session, current_user.id, message_id)
    except DialogNotFound:
        abort(404)
    return message, db.session.get(Dialog, message.dialog_id)


def _asker() -> editing.Asker:
    return editing.Asker(current_user.display_name, utcnow())


def _done(dialog: Dialog, message_id: int | None = None, notice: str | None = None):
    """After a change: nothing to send for the script (the socket shows it), the dialog again
    for a plain form."""
    db.session.commit()
    if is_htmx():
        return "", 204
    if notice:
        flash(notice, "ok")
    anchor = f"#m-{message_id}" if message_id else "#composer"
    return redirect(url_for("chat.dialog", dialog_id=dialog.id) + anchor)


def _refused(dialog: Dialog, message: Message, error: ChatError):
    db.session.rollback()
    if is_htmx():
        return refused(str(error))
    flash(str(error), "error")
    return redirect(url_for("chat.dialog", dialog_id=dialog.id) + f"#m-{message.id}")


@bp.post("/<int:message_id>/regenerate")
@login_required
def regenerate(message_id: int):
    return _reply_again(message_id, editing.regenerate)


@bp.post("/<int:message_id>/continue")
@login_required
def continue_reply(message_id: int):
    return _reply_again(message_id, editing.continue_reply)


def _reply_again(message_id: int, how):
    """Another version of the last reply, or its continuation (`how`)."""
    message, dialog = _own(message_id)
    try:
        how(db.session, get_bus(), dialog, message, _asker())
    except ChatError as exc:
        return _refused(dialog, message, exc)
    return _done(dialog, message.id)


@bp.post("/<int:message_id>/swipe")
@login_required
def swipe(message_id: int):
    message, dialog = _own(message_id)
    try:
        position = request.form.get("to", -1, type=int)
        editing.show_version(db.session, get_bus(), message, position)
    except ChatError as exc:
        return _refused(dialog, message, exc)
    return _done(dialog, message.id)


@bp.route("/<int:message_id>/edit", methods=["GET", "POST"])
@login_required
def edit(message_id: int):
    message, dialog = _own(message_id)
    error, text = None, message.text
    if request.method == "POST":
        text = request.form.get("text", "")
        try:
            editing.edit(db.session, get_bus(), dialog, message, text, _asker())
        except ChatError as exc:
            db.session.rollback()
            error = str(exc)
            if is_htmx():
                return refused(error)
        else:
            return _done(dialog, message.id)
    return render(
        "chat/edit.html",
        "chat/_edit.html",
        422 if error else 200,
        m=message,
        dialog=dialog,
        text=text,
        error=error,
        limit=service.USER_MESSAGE_MAX if message.role == "user" else service.REPLY_MAX,
    )


@bp.route("/<int:message_id>/delete", methods=["GET", "POST"])
@login_required
def delete(message_id: int):
    message, dialog = _own(message_id)
    if request.method == "POST":
        following = request.form.get("following") == "1"
        count = editing.delete_messages(db.session, get_bus(), dialog, message, following=following)
        return _done(dialog, notice=_("Удалено сообщений: %(n)s", n=count))
    return render(
        "chat/delete_message.html",
        "chat/_delete_message.html",
        m=message,
        dialog=dialog,
        later=editing.count_after(db.session, message),
    )


@bp.post("/<int:message_id>/branch")
@login_required
def branch(message_id: int):
    message, dialog = _own(message_id)
    copy = editing.branch(db.session, dialog, message, utcnow())
    db.session.commit()
    url = url_for("chat.dialog", dialog_id=copy.id)
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    flash(_("Новый диалог начат с этого сообщения"), "ok")
    return redirect(url)
