from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user

from webapp.characters.access import may_browse_catalogue
from webapp.characters.service import list_published
from webapp.extensions import db
from webapp.rendering import render

bp = Blueprint("characters", __name__)

QUERY_MAX = 50


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
