from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from simple_websocket import ConnectionClosed

from webapp.auth.cookies import client_ip
from webapp.db import utcnow
from webapp.extensions import db, get_bus, limiter, sock
from webapp.inference.access import admin_only, count_wrong_node_key, may_try_node_key
from webapp.inference.jobs import revoke_links
from webapp.inference.keys import NodeKeyInvalid, create_key, list_keys, revoke_key, verify_key
from webapp.inference.link import LinkClosed, serve_link
from webapp.inference.models import NodeKey
from webapp.inference.runtime import get_dispatcher
from webapp.inference.status import linked_nodes
from webapp.monitoring import logs
from webapp.rendering import render

bp = Blueprint("inference", __name__)


@bp.before_request
def _check_node_key():
    """The node link refuses the upgrade itself (401) without a valid API key."""
    if request.endpoint != "inference.node_socket":
        return None
    if not may_try_node_key(client_ip()):
        response = jsonify(error=429, title="too many wrong API keys: try again later")
        response.status_code = 429
        return response
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    key = verify_key(db.session, presented, utcnow()) if presented else None
    if key is None:
        count_wrong_node_key(client_ip())
        logs.security(
            db.session,
            "node_key_rejected",
            ip=client_ip(),
            device=request.user_agent.string,
            presented="yes" if presented else "no",
        )
        db.session.commit()
        response = jsonify(error=401, title="bad or revoked API key")
        response.status_code = 401
        return response
    db.session.commit()
    g.node_key_id = key.id
    return None


@sock.route("/node/ws", bp=bp)
@limiter.exempt
def node_socket(ws):
    db.session.remove()  # the link lives for hours: hold no DB connection while it does

    def receive(timeout: float):
        try:
            return ws.receive(timeout=timeout)
        except ConnectionClosed:
            raise LinkClosed() from None

    dispatcher = get_dispatcher(current_app._get_current_object())
    serve_link(dispatcher, receive, ws.send, ws.close, key_id=g.node_key_id)


@bp.get("/admin/nodes")
@admin_only
def nodes():
    return _nodes_page(None)


def _nodes_page(new_key: str | None):
    return render(
        "inference/nodes.html",
        "inference/_keys.html",
        keys=list_keys(db.session),
        linked=linked_nodes(db.session, utcnow()),
        new_key=new_key,
    )


@bp.post("/admin/nodes/keys")
@admin_only
def create_node_key():
    try:
        _key, raw = create_key(db.session, request.form.get("name", ""), utcnow())
    except NodeKeyInvalid as exc:
        flash(str(exc), "error")
        return redirect(url_for("inference.nodes"))
    db.session.commit()
    # Shown once, on this response only: it is not stored anywhere in the clear.
    return _nodes_page(raw)


@bp.route("/admin/nodes/keys/<int:key_id>/revoke", methods=["GET", "POST"])
@admin_only
def revoke_node_key(key_id: int):
    """Asks first: a node linked with the key is cut off at once and the AI goes offline."""
    key = db.session.get(NodeKey, key_id)
    if key is None:
        abort(404)
    if request.method == "GET":
        return render("inference/revoke.html", "inference/revoke.html", key=key)
    revoke_key(db.session, key, utcnow())
    db.session.commit()
    revoke_links(get_bus(), key.id)  # a node linked with this key is cut off at once
    flash(_("Ключ «%(name)s» отозван", name=key.name), "ok")
    return redirect(url_for("inference.nodes"))
