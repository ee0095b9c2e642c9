"""The person's personas: a page to keep them, and the choice of one per dialog."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.characters import avatars
from webapp.chat import personas
from webapp.db import utcnow
from webapp.extensions import db, get_settings
from webapp.rendering import render

bp = Blueprint("personas", __name__, url_prefix="/personas")


def _page(error: personas.PersonaInvalid | None = None, editing=None, status: int = 200):
    return render(
        "chat/personas.html",
        "chat/personas.html",
        status,
        personas=personas.list_personas(db.session, current_user.id),
        editing=editing,
        error=error,
        form=request.form if error else {},
        name_max=personas.NAME_MAX,
        description_max=personas.DESCRIPTION_MAX,
    )


def _avatar_dir():
    return avatars.directory(get_settings().instance_path)


def _own(persona_id: int):
    try:
        return personas.own(db.session, current_user.id, persona_id)
    except personas.PersonaInvalid:
        abort(404)


@bp.get("")
@login_required
def index():
    return _page()


@bp.get("/<int:persona_id>")
@login_required
def edit(persona_id: int):
    return _page(editing=_own(persona_id))


@bp.post("")
@bp.post("/<int:persona_id>")
@login_required
def save(persona_id: int | None = None):
    persona = _own(persona_id) if persona_id else None
    upload = request.files.get("avatar")
    try:
        personas.save(
            db.session,
            current_user.id,
            persona,
            name=request.form.get("name", ""),
            description=request.form.get("description", ""),
            default=request.form.get("default") == "1",
            now=utcnow(),
            picture=upload.read(avatars.MAX_BYTES + 1) if upload and upload.filename else None,
            drop_picture=request.form.get("drop_avatar") == "1",
            avatar_dir=_avatar_dir(),
        )
    except personas.PersonaInvalid as exc:
        db.session.rollback()
        return _page(exc, persona, 422)
    db.session.commit()
    flash(_("Персона сохранена"), "ok")
    return redirect(url_for("personas.index"))


@bp.post("/<int:persona_id>/delete")
@login_required
def delete(persona_id: int):
    personas.delete(db.session, _own(persona_id), _avatar_dir())
    db.session.commit()
    flash(_("Персона удалена"), "ok")
    return redirect(url_for("personas.index"))
