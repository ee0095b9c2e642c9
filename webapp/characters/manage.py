"""Managers' pages: the list of all characters, the editor, versions and rollback."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.access import may_override
from webapp.characters import avatars, cards, editor
from webapp.characters.access import managers_only
from webapp.characters.avatars import process as process_avatar
from webapp.characters.forms import CharacterForm
from webapp.characters.models import Character
from webapp.db import utcnow
from webapp.extensions import db, get_settings
from webapp.forms import attach_errors
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
        try:
            if upload and upload.filename:
                encoded = process_avatar(upload.read(avatars.MAX_BYTES + 1))
            saved, similar = editor.save(
                db.session,
                form.to_draft(),
                author_id=current_user.id,
                now=utcnow(),
                character=character,
                confirm_similar=form.confirm_similar.data,
                keep_state=_moderated(character),
            )
        except avatars.AvatarInvalid as exc:
            db.session.rollback()
            form.avatar.errors = [str(exc)]  # nothing was written
        except editor.CharacterInvalid as exc:
            db.session.rollback()
            attach_errors(form, exc.errors)
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
        form=form,
        character=character,
        similar=similar,
        locked=_moderated(character),
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


@bp.route("/import", methods=["GET", "POST"])
@managers_only
def import_card():
    """A community card (JSON or PNG): checked by the editor's rules, all problems at once."""
    errors: dict = {}
    similar = None
    if request.method == "POST":
        upload = request.files.get("card")
        try:
            if upload is None or not upload.filename:
                raise cards.CardInvalid({"file": _("Файл карточки: выберите файл")})
            draft, kept = cards.to_draft(cards.read_card(upload.read(cards.MAX_CARD_BYTES + 1)))
            character, similar = editor.save(
                db.session,
                draft,
                author_id=current_user.id,
                now=utcnow(),
                confirm_similar=request.form.get("confirm_similar") == "y",
            )
        except editor.CharacterInvalid as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            if similar is None:
                character.card = kept
                db.session.commit()
                flash(_("Карточка импортирована как черновик"), "ok")
                return redirect(url_for("manage.edit", character_id=character.id))
            db.session.rollback()
    status = 422 if request.method == "POST" else 200
    return render(
        "manage/import.html", "manage/_import.html", status, errors=errors, similar=similar
    )


@bp.get("/<int:character_id>/card.<kind>")
@managers_only
def export_card(character_id: int, kind: str):
    character = _character(character_id)
    filename = f"{character.name}.card"
    if kind == "json":
        spec = "chara_card_v3" if request.args.get("spec") == "v3" else "chara_card_v2"
        return Response(
            cards.export_json(character, spec),
            mimetype="application/json",
            headers=_attachment(f"{filename}.json"),
        )
    if kind == "png":
        return Response(
            cards.export_png(character, avatars.read(avatar_dir(), character.avatar)),
            mimetype="image/png",
            headers=_attachment(f"{filename}.png"),
        )
    abort(404)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
