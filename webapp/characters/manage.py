"""Managers' pages: the list of all characters, the editor, versions and rollback."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.access import may_override
from webapp.characters import avatars, cardfile, cards, editor, transfer
from webapp.characters import lorebook as lore
from webapp.characters.access import managers_only
from webapp.characters.avatars import process as process_avatar
from webapp.characters.forms import CharacterForm, LorebookForm, with_blank_greeting
from webapp.characters.models import Character
from webapp.characters.story import DEFAULT_PROMPT
from webapp.db import utcnow
from webapp.extensions import db, get_settings
from webapp.forms import attach_errors, upload_limit
from webapp.rendering import render

bp = Blueprint("manage", __name__, url_prefix="/manage/characters")


def avatar_dir():
    return avatars.directory(get_settings().instance_path)


def _character(character_id: int) -> Character:
    character = db.session.get(Character, character_id)
    if character is None:
        abort(404)
    return character


def _moderated(character: Character | None) -> bool:
    """A moderator hid it and the signed-in person may not undo that."""
    return character is not None and not may_override(current_user, character.hidden_rank)


@bp.get("")
@managers_only
def index():
    characters = db.session.scalars(select(Character).order_by(Character.name)).all()
    return render("manage/index.html", "manage/_table.html", characters=characters)


@bp.route("/new", methods=["GET", "POST"])
@managers_only
def create():
    return _edit(None)


@bp.route("/<int:character_id>", methods=["GET", "POST"])
@managers_only
def edit(character_id: int):
    return _edit(_character(character_id))


def _edit(character: Character | None):
    form = CharacterForm()
    similar = None
    if request.method == "GET" and character is not None:
        form.fill(character)
    if form.validate_on_submit():
        upload = form.avatar.data
        encoded = None
        errors: dict = {}
        if upload and upload.filename:
            try:
                encoded = process_avatar(upload.read(avatars.MAX_BYTES + 1))
            except avatars.AvatarInvalid as exc:
                errors["avatar"] = str(exc)  # reported with every other field's problem
        try:
            saved, similar = editor.save(
                db.session,
                form.to_draft(character),
                author_id=current_user.id,
                now=utcnow(),
                character=character,
                confirm_similar=form.confirm_similar.data,
                keep_state=_moderated(character),
            )
        except editor.CharacterInvalid as exc:
            errors = {**errors, **exc.errors}
        if errors:
            db.session.rollback()  # nothing was written
            attach_errors(form, errors)
            similar = None
        else:
            if similar is None:
                if encoded is not None:
                    directory = avatar_dir()
                    old = saved.avatar
                    saved.avatar = avatars.store(directory, saved.id, encoded)
                    if old != saved.avatar:
                        avatars.remove(directory, old)
                db.session.commit()
                flash(_("Сохранено: версия %(n)s", n=saved.version), "ok")
                return redirect(url_for("manage.edit", character_id=saved.id))
            db.session.rollback()
    status = 422 if request.method == "POST" else 200
    return render(
        "manage/edit.html",
        "manage/_form.html",
        status,
        form=with_blank_greeting(form),
        character=character,
        similar=similar,
        locked=_moderated(character),
        default_prompt=DEFAULT_PROMPT,
        first_character=character is None
        and db.session.scalar(select(Character.id).limit(1)) is None,
    )


@bp.get("/<int:character_id>/versions")
@managers_only
def versions(character_id: int):
    character = _character(character_id)
    return render(
        "manage/versions.html",
        "manage/_versions.html",
        character=character,
        versions=editor.versions(db.session, character.id),
    )


@bp.post("/<int:character_id>/versions/<int:number>/restore")
@managers_only
def restore(character_id: int, number: int):
    character = _character(character_id)
    try:
        editor.roll_back(
            db.session,
            character,
            number,
            author_id=current_user.id,
            now=utcnow(),
            keep_state=_moderated(character),
        )
    except editor.CharacterInvalid as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(
            _("Версия %(old)s восстановлена как %(new)s", old=number, new=character.version), "ok"
        )
    return redirect(url_for("manage.versions", character_id=character.id))


@bp.route("/<int:character_id>/lorebook", methods=["GET", "POST"])
@managers_only
def lorebook(character_id: int):
    """The character's lorebook: its entries in a form (one empty to add, a box to remove), saved
    as a new version; and, by GET, which entries a message would activate."""
    character = _character(character_id)
    entries = list((character.lorebook or {}).get("entries") or [])
    form = LorebookForm()
    error = None
    if form.validate_on_submit():
        rows = [
            {
                "raw": entries[index] if index < len(entries) else None,
                "values": entry.form.values(),
                "remove": bool(entry.form.remove.data),
            }
            for index, entry in enumerate(form.entries)
        ]
        try:
            settings = form.settings(lore.book_values(character.lorebook))
            _save_lorebook(character, lore.edited(character.lorebook, rows, settings))
        except lore.LorebookInvalid as exc:
            db.session.rollback()
            error = exc.message
        except editor.CharacterInvalid as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(_("Лорбук сохранён: версия %(n)s", n=character.version), "ok")
            return redirect(url_for("manage.lorebook", character_id=character.id))
    elif request.method == "GET":
        form.fill(lore.book_values(character.lorebook), [lore.entry_values(e) for e in entries])
    message = request.args.get("message", "")[:2000]
    activation = None
    if message.strip():
        activation = lore.activate(lore.parse(character.lorebook), [message])
    return render(
        "manage/lorebook.html",
        "manage/_lorebook.html",
        422 if error or request.method == "POST" else 200,
        character=character,
        form=form,
        error=error,
        message=message,
        activation=activation,
    )


def _save_lorebook(character: Character, book: dict) -> None:
    """The character with this lorebook, as a new version (the editor's rules check it)."""
    draft = editor.draft_of(character)
    draft.lorebook = book
    editor.save(
        db.session,
        draft,
        author_id=current_user.id,
        now=utcnow(),
        character=character,
        confirm_similar=True,  # the lorebook is not part of what the near-duplicate rule compares
        keep_state=_moderated(character),
    )


@bp.post("/<int:character_id>/lorebook/world-info")
@upload_limit(cardfile.MAX_FILE_BYTES)
@managers_only
def lorebook_world_info(character_id: int):
    """Entries from a SillyTavern World Info file, added after the lorebook's own."""
    character = _character(character_id)
    upload = request.files.get("world_info")
    try:
        if upload is None or not upload.filename:
            raise lore.LorebookInvalid(_("Файл World Info: выберите файл"))
        added = lore.from_world_info(cardfile.parse_json(upload.read(cardfile.MAX_CARD_BYTES + 1)))
        book = dict(character.lorebook or {"entries": []})
        book["entries"] = [*(book.get("entries") or []), *added]
        _save_lorebook(character, book)
    except lore.LorebookInvalid as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    except editor.CharacterInvalid as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Добавлено записей: %(n)s (версия %(v)s)", n=len(added), v=character.version), "ok")
    return redirect(url_for("manage.lorebook", character_id=character.id))


@bp.route("/import", methods=["GET", "POST"])
@upload_limit(cardfile.MAX_FILE_BYTES)  # a card PNG is often larger than other uploads
@managers_only
def import_card():
    """A community card (JSON, PNG or CHARX): checked by the editor's rules, all problems at
    once."""
    errors: dict = {}
    similar = None
    if request.method == "POST":
        upload = request.files.get("card")
        try:
            if upload is None or not upload.filename:
                raise cardfile.CardInvalid(_("Файл карточки: выберите файл"))
            done = transfer.import_file(
                db.session,
                upload.read(cardfile.MAX_FILE_BYTES + 1),
                instance_path=get_settings().instance_path,
                author_id=current_user.id,
                now=utcnow(),
                confirm_similar=request.form.get("confirm_similar") == "y",
            )
        except editor.CharacterInvalid as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            if done.character is not None:
                db.session.commit()
                flash(_("Карточка импортирована как черновик"), "ok")
                for note in done.notes:
                    flash(str(note), "info")
                return redirect(url_for("manage.edit", character_id=done.character.id))
            similar = done.similar
            db.session.rollback()
    status = 422 if request.method == "POST" else 200
    return render(
        "manage/import.html", "manage/_import.html", status, errors=errors, similar=similar
    )


EXPORTS = {
    # kind -> (target, mimetype, suffix)
    "json": (None, "application/json", "json"),
    "v2.json": ("v2", "application/json", "json"),
    "v3.json": ("v3", "application/json", "json"),
    "png": (None, "image/png", "png"),
    "charx": (None, "application/zip", "charx"),
}


@bp.get("/<int:character_id>/card.<path:kind>")
@managers_only
def export_card(character_id: int, kind: str):
    """The character's card: JSON in its own format (?spec=v2|v3 or card.v3.json for the
    others), PNG or CHARX."""
    character = _character(character_id)
    if kind not in EXPORTS:
        abort(404)
    target, mimetype, suffix = EXPORTS[kind]
    instance = get_settings().instance_path
    if suffix == "png":
        body = transfer.export_png(instance, character)
    elif suffix == "charx":
        body = transfer.export_charx(instance, character)
    else:
        spec = request.args.get("spec")
        body = cards.export_json(character, target or (spec if spec in ("v2", "v3") else None))
    return Response(body, mimetype=mimetype, headers=_attachment(f"{character.name}.{suffix}"))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
