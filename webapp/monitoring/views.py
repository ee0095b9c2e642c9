from __future__ import annotations

import time

from flask import Blueprint, Response, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webapp.accounts.access import role_required
from webapp.accounts.models import Role
from webapp.audit import audit_action
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_settings, limiter
from webapp.inference.status import read_status
from webapp.monitoring import alerts
from webapp.monitoring.access import ai_status_detail, may_scrape_metrics
from webapp.monitoring.catalogue import INTERVAL_S, SOURCE_LABELS, SOURCES
from webapp.monitoring.service import check_health
from webapp.monitoring.thresholds import current_levels
from webapp.monitoring.widgets import hour_graphs, panel
from webapp.rendering import render
from webapp.version import __version__

bp = Blueprint("monitoring", __name__)
AI_POLL_S = 15
admin_only = role_required(Role.ADMIN)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    report = check_health(
        db.session,
        get_bus(),
        redis_configured=bool(get_settings().redis_url),
        version=__version__,
    )
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@limiter.exempt
def metrics():
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    if not may_scrape_metrics(current_user, request.remote_addr, forwarded):
        abort(403)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/monitoring/widgets/<source>")
@admin_only
@limiter.exempt
def resources(source: str):
    if source not in SOURCES:
        abort(404)
    db.read_only()
    widget = panel(get_bus(), source, current_levels(db.session), time.time())
    return _no_store(
        render(
            "monitoring/resources.html",
            "monitoring/_resources.html",
            widget=widget,
            title=SOURCE_LABELS[source],
            poll=INTERVAL_S[source],
        )
    )


@bp.get("/monitoring/graphs/<source>")
@admin_only
@limiter.exempt
def graphs(source: str):
    if source not in SOURCES:
        abort(404)
    return _no_store(
        render(
            "monitoring/resources.html",
            "monitoring/_graphs.html",
            source=source,
            graphs=hour_graphs(get_bus(), source, time.time()),
            title=SOURCE_LABELS[source],
            poll=INTERVAL_S[source],
        )
    )


@bp.get("/monitoring/ai")
@limiter.exempt
def ai_status():
    """Moderators and admins: the full status; managers: online/offline; others: nothing (the
    returned element has no poll trigger, so a page that had one stops polling)."""
    detail = ai_status_detail(current_user)
    return _no_store(
        render(
            "monitoring/resources.html",
            "monitoring/_ai_status.html",
            detail=detail,
            ai=read_status(get_bus()) if detail != "none" else {},
            now=time.time(),
            poll=AI_POLL_S,
            title=_("Статус ИИ"),
        )
    )


@bp.route("/alerts/ack/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def acknowledge_by_link(token: str):
    """The link in an alert email: GET shows the alert and a button, POST acknowledges."""
    alert = alerts.by_ack_token(db.session, token)
    if alert is None:
        abort(404)
    if request.method == "POST":
        if alerts.acknowledge(db.session, alert, None, utcnow()):
            audit_action(
                "alert_acknowledged",
                f"alert:{alert.id}",
                {"acknowledged": False},
                {"acknowledged": True, "via": "email link"},
            )
            db.session.commit()
        flash(_("Тревога подтверждена, повторных уведомлений не будет."), "ok")
        return redirect(url_for("monitoring.acknowledge_by_link", token=token))
    return render("monitoring/ack.html", "monitoring/ack.html", alert=alert, token=token)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
