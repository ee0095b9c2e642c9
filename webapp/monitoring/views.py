from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webapp import __version__
from webapp.extensions import db, get_bus, get_settings, limiter
from webapp.monitoring.access import may_scrape_metrics
from webapp.monitoring.service import check_health

bp = Blueprint("monitoring", __name__)


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
