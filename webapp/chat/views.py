"""Chat pages and plain-form actions (they work without JavaScript; the socket makes it live)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user, login_required

from webapp.characters import editor
from webapp.characters.access import managers_only
from webapp.characters.forms import CharacterForm
from webapp.characters.models import Character, CharacterState
from webapp.chat import drafts, editing, personas, replies, sending, service, transfer
from webapp.chat import favorites as fav
from webapp.chat import preview as previews
from webapp.chat import search as finder
from webapp.chat.access import may_send_now
from webapp.chat.errors import ChatError, DialogNotFound
from webapp.chat.models import OPEN_REPLY, Dialog
from webapp.db import utcnow
from webapp.extensions import db, get_bus
from webapp.forms import query_int, upload_limit
from webapp.inference.status import read_status
from webapp.rendering import is_htmx, refused, render

bp = Blueprint("chat", __name__)


def _character(character_id: int) -> Character:
    character = db.session.get(Character, character_id)
    if character is None or character.state != CharacterState.PUBLISHED:
        abort(404)
    return character


def _dialog(dialog_id: int) -> Dialog:
    try:
        return service.get_dialog(db.session, current_user.id, dialog_id)
    except DialogNotFound:
        abort(404)


@bp.get("/sw.js")
def service_worker():
    """Served from the root so that its scope covers the dialogs."""
    response = send_from_directory(current_app.static_folder, "js/sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    """What the service worker shows for a page it has no copy of (fetched once, at install)."""
    return render("offline.html", "offline.html")


@bp.get("/characters/<int:character_id>")
@login_required
def character(character_id: int):
    return _character_page(_character(character_id))


def _character_page(found: Character, status: int = 200, import_error: str | None = None):
    dialogs = service.list_dialogs(db.session, current_user.id, found.id)
    return render(
        "chat/character.html",
        "chat/_dialogs.html",
        status,
        character=found,
        dialogs=dialogs,
        openings=service.openings(
            found, personas.speaker_name(db.session, current_user.id, current_user.display_name)
        ),
        import_error=import_error,
        import_max_mb=transfer.IMPORT_MAX_BYTES // (1024 * 1024),
    )


@bp.post("/characters/<int:character_id>/dialogs/import")
@upload_limit(transfer.IMPORT_MAX_BYTES)
@login_required
def import_dialog(character_id: int):
    """A SillyTavern chat file (.jsonl) as a new dialog with this character."""
    found = _character(character_id)
    upload = request.files.get("chat")
    try:
        if upload is None or not upload.filename:
            raise transfer.ImportInvalid(_("Файл: выберите чат SillyTavern (.jsonl)"))
        parsed = transfer.parse_jsonl(upload.read())
    except transfer.ImportInvalid as exc:
        return _character_page(found, 422, str(exc))
    dialog = transfer.import_dialog(db.session, current_user.id, found, parsed, utcnow())
    db.session.commit()
    flash(_("Загружено сообщений: %(n)s", n=len(parsed.messages)), "ok")
    if parsed.cut:
        flash(_("Длиннее, чем позволяет чат, и сокращено: %(n)s", n=parsed.cut), "info")
    return redirect(url_for("chat.dialog", dialog_id=dialog.id))


@bp.get("/chat/<int:dialog_id>/export.<any(txt, jsonl):kind>")
@login_required
def export(dialog_id: int, kind: str):
    """The dialog as text, or as a SillyTavern chat file (every version of a reply kept)."""
    found = _dialog(dialog_id)
    character = db.session.get(Character, found.character_id)
    name = personas.speaker(db.session, found, current_user.display_name).name
    if kind == "txt":
        body, mimetype = transfer.export_text(db.session, found, character, name), "text/plain"
    else:
        body, mimetype = (
            transfer.export_jsonl(db.session, found, character, name),
            "application/jsonl",
        )
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="dialog-{found.id}.{kind}"'
    return response


@bp.post("/characters/<int:character_id>/dialogs")
@login_required
def new_dialog(character_id: int):
    dialog = service.start_dialog(
        db.session,
        current_user.id,
        _character(character_id),
        utcnow(),
        user_name=current_user.display_name,
        opening=request.form.get("opening", 0, type=int),
    )
    db.session.commit()
    return redirect(url_for("chat.dialog", dialog_id=dialog.id))


@bp.get("/chat/<int:dialog_id>")
@login_required
def dialog(dialog_id: int):
    found = _dialog(dialog_id)
    before = query_int("before")
    messages, has_more = service.history(db.session, found.id, before_id=before)
    starred_ids = fav.starred_ids(db.session, current_user.id, [m.id for m in messages])
    context = {
        "dialog": found,
        "messages": messages,
        "has_more": has_more,
        "starred_ids": starred_ids,
    }
    if before is not None and is_htmx():
        return render("chat/dialog.html", "chat/_earlier.html", **context)
    waiting = any(m.status in OPEN_REPLY for m in messages)
    return render(
        "chat/dialog.html",
        "chat/_earlier.html",
        character=db.session.get(Character, found.character_id),
        ai=read_status(get_bus()),
        waiting=waiting,
        refresh_mark=int(utcnow().timestamp()),
        client_id=uuid.uuid4().hex,
        draft=drafts.load(get_bus(), current_user.id, found.id),
        personas=personas.list_personas(db.session, current_user.id),
        typed_max=drafts.MAX_CHARS,
        **context,
    )


@bp.post("/chat/<int:dialog_id>/messages")
@login_required
def send(dialog_id: int):
    """The no-JavaScript path: store, ask for a reply, come back to the dialog."""
    found = _dialog(dialog_id)
    if not may_send_now(current_user.id):
        flash(_("Не больше 20 сообщений в минуту. Подождите немного."), "error")
        return redirect(url_for("chat.dialog", dialog_id=found.id))
    try:
        sent = sending.send_message(
            db.session,
            get_bus(),
            found,
            user_id=current_user.id,
            user_name=current_user.display_name,
            text=request.form.get("message", ""),
            client_id=request.form.get("client_id"),
            now=utcnow(),
        )
    except ChatError as exc:
        flash(str(exc), "error")
        return redirect(url_for("chat.dialog", dialog_id=found.id))
    if sent.cut:
        flash(str(sending.CUT_NOTICE), "info")
    if sent.paused:
        flash(sent.paused, "info")
    return redirect(url_for("chat.dialog", dialog_id=found.id) + "#composer")


@bp.post("/chat/<int:dialog_id>/stop")
@login_required
def stop(dialog_id: int):
    replies.stop_reply(db.session, get_bus(), _dialog(dialog_id))
    db.session.commit()
    return redirect(url_for("chat.dialog", dialog_id=dialog_id))


@bp.post("/chat/<int:dialog_id>/retry")
@login_required
def retry(dialog_id: int):
    found = _dialog(dialog_id)
    try:
        editing.retry(
            db.session, get_bus(), found, editing.Asker(current_user.display_name, utcnow())
        )
    except ChatError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
    return redirect(url_for("chat.dialog", dialog_id=found.id))


@bp.post("/chat/<int:dialog_id>/persona")
@login_required
def persona(dialog_id: int):
    """Who the person is in this dialog from now on (the next replies use it)."""
    found = _dialog(dialog_id)
    try:
        personas.choose(db.session, found, request.form.get("persona_id", 0, type=int))
    except ChatError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Персона диалога сменена"), "ok")
    return redirect(url_for("chat.dialog", dialog_id=found.id))


@bp.post("/chat/<int:dialog_id>/rename")
@login_required
def rename(dialog_id: int):
    found = _dialog(dialog_id)
    try:
        service.rename_dialog(found, request.form.get("title", ""))
    except ChatError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Диалог переименован"), "ok")
    return redirect(url_for("chat.character", character_id=found.character_id))


@bp.route("/chat/<int:dialog_id>/delete", methods=["GET", "POST"])
@login_required
def delete(dialog_id: int):
    """Asks first (a page of its own: it works without JavaScript). Reported messages stay
    with their reports for the moderators."""
    found = _dialog(dialog_id)
    if request.method == "GET":
        return render("chat/delete_dialog.html", "chat/delete_dialog.html", dialog=found)
    character_id = found.character_id
    service.delete_dialog(db.session, found)
    db.session.commit()
    flash(_("Диалог удалён"), "ok")
    return redirect(url_for("chat.character", character_id=character_id))


@bp.post("/chat/messages/<int:message_id>/favorite")
@login_required
def favorite(message_id: int):
    try:
        message = fav.own_message(db.session, current_user.id, message_id)
    except DialogNotFound:
        abort(404)
    on = request.form.get("on") == "1"
    try:
        fav.set_favorite(db.session, get_bus(), current_user.id, message, on, utcnow())
    except ChatError as exc:
        if is_htmx():
            return refused(str(exc))
        flash(str(exc), "error")
        return redirect(url_for("chat.favorites"))
    db.session.commit()
    if is_htmx():
        return render("chat/_star.html", "chat/_star.html", m=message, starred=on)
    return redirect(url_for("chat.dialog", dialog_id=message.dialog_id) + f"#m-{message.id}")


@bp.get("/favorites")
@login_required
def favorites():
    groups: dict[str, dict[date, list]] = defaultdict(lambda: defaultdict(list))
    for _favorite, message, character_name in fav.list_favorites(db.session, current_user.id):
        groups[character_name][to_user_timezone(message.created_at).date()].append(message)
    return render(
        "chat/favorites.html", "chat/_favorites.html", groups=groups, limit=fav.FAVORITES_MAX
    )


@bp.get("/search")
@login_required
def search():
    """Search my messages (in one dialog with ?dialog=), newest first, keyset-paged (?before=)."""
    query = request.args.get("q", "")
    dialog_id = query_int("dialog")
    scope = _dialog(dialog_id) if dialog_id is not None else None
    hits, more, error, words = [], False, None, []
    if query.strip():
        try:
            words = finder.words_of(query)
            hits, more = finder.search(
                db.session,
                current_user.id,
                query,
                dialog_id=scope.id if scope else None,
                before_id=query_int("before"),
            )
        except ChatError as exc:
            error = str(exc)
    return render(
        "chat/search.html",
        "chat/_search_results.html",
        422 if error else 200,
        query=query,
        scope=scope,
        hits=hits,
        more=more,
        error=error,
        snippet=lambda text: finder.snippet(text, words),
        query_max=finder.QUERY_MAX,
    )


# A manager's test chat: the draft in the editor (saved or not) on one message, through the same
# queue as people's replies. Its page is the editor's; its rules are the chat's.
@bp.post("/manage/characters/preview")
@managers_only
def preview():
    """Try the draft in the form (saved or not) on one message; the answer streams in below."""
    form = CharacterForm()
    message = request.form.get("preview_message", "").strip()[:1000]
    saved = (
        db.session.get(Character, int(form.character_id.data))
        if (form.character_id.data or "").isdigit()
        else None
    )
    draft = form.to_draft(saved)
    error = None
    job_id = None
    if not form.validate_on_submit():
        error = _("Страница устарела: обновите её")
    elif not message:
        error = _("Сообщение для проверки: напишите что-нибудь")
    else:
        try:
            editor.clean(draft)
        except editor.CharacterInvalid as exc:
            error = str(exc)
        else:
            job_id = previews.start(
                db.session, get_bus(), current_user.id, draft, message, current_user.display_name
            )
            db.session.commit()
    state = previews.state(get_bus(), job_id, current_user.id) if job_id else None
    return _preview_page(job_id, state or {"message": message}, 422 if error else 200, error)


@bp.get("/manage/characters/preview/<job_id>")
@managers_only
def preview_state(job_id: str):
    state = previews.state(get_bus(), job_id, current_user.id)
    if state is None:
        abort(404)
    return _preview_page(job_id, state)


@bp.post("/manage/characters/preview/<job_id>/cancel")
@managers_only
def preview_cancel(job_id: str):
    """Stop waiting for a preview (the AI may be offline for a long while)."""
    state = previews.cancel(db.session, get_bus(), job_id, current_user.id)
    if state is None:
        abort(404)
    db.session.commit()
    return _preview_page(job_id, state)


def _preview_page(job_id: str, state: dict, status: int = 200, error: str | None = None):
    return render(
        "manage/preview.html",
        "manage/_preview.html",
        status,
        job_id=job_id,
        state=state,
        error=error,
        message=state.get("message") if state else None,
        ai_state=read_status(get_bus()).get("state"),
    )
