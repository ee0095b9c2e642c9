from __future__ import annotations

from flask import Blueprint, abort, request, send_from_directory
from flask_login import current_user

from webapp.characters import avatars
from webapp.characters.access import may_browse_catalogue
from webapp.characters.avatars import SIZES
from webapp.characters.service import list_published
from webapp.extensions import db, get_settings
from webapp.rendering import render

bp = Blueprint("characters", __name__)

QUERY_MAX = 50


@bp.get("/avatars/<name>-<int:size>.webp")
def avatar(name: str, size: int):
    """Avatars are public like the catalogue; names change with the picture, so cache for long."""
    if size not in SIZES or not name.replace("-", "").isalnum():
        abort(404)
    directory = avatars.directory(get_settings().instance_path)
    return send_from_directory(directory, f"{name}-{size}.webp", max_age=365 * 24 * 3600)


@bp.get("/")
def catalogue():
    if not may_browse_catalogue(current_user):
        abort(403)
    query = request.args.get("q", "")[:QUERY_MAX]
    characters = list_published(db.session, query)
    return render(
        "characters/catalogue.html",
        "characters/_cards.html",
        characters=characters,
        q=query,
    )
