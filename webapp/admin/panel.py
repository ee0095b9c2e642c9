"""The admin dashboard: activity, resource widgets, alerts (acknowledge) and thresholds."""

from __future__ import annotations

import time
from dataclasses import asdict

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.admin.access import admin_only
from webapp.admin.dashboard import activity, alert_board, failed_deliveries
from webapp.analysis import overview, traffic, validation
from webapp.analysis.alerting import TRAFFIC_STATE_KEY
from webapp.analysis.service import models_of, recent_anomalies
from webapp.audit import audit_action
from webapp.db import utcnow
from webapp.extensions import db, get_bus
from webapp.inference import economy
from webapp.inference.status import read_status
from webapp.monitoring import alerts, thresholds
from webapp.monitoring.catalogue import INTERVAL_S, METRICS, SOURCES
from webapp.monitoring.errors import MonitoringError
from webapp.monitoring.models import Alert
from webapp.monitoring.views import AI_POLL_S
from webapp.monitoring.widgets import hour_graphs, panel
from webapp.rendering import render

bp = Blueprint("admin_panel", __name__, url_prefix="/admin")


@bp.get("/analysis")
@admin_only
def analysis():
    db.read_only()
    models = models_of(current_app._get_current_object())
    bus, now = get_bus(), time.time()
    return render_template(
        "admin/analysis.html",
        models=models,
        economy=economy.state(bus),
        forecasts=overview.forecasts(db.session, models, utcnow()),
        anomalies=recent_anomalies(bus, models, now),
        traffic=bus.get(TRAFFIC_STATE_KEY),
        validations=validation.history(db.session, utcnow().date()),
        metric_labels={key: metric.label for key, metric in METRICS.items()},
        traffic_labels=traffic.CLASS_LABELS,
        alert_at=traffic.ALERT_AT,
        chart_w=overview.CHART_W,
        chart_h=overview.CHART_H,
    )


@bp.get("/")
@admin_only
def dashboard():
    db.read_only()
    bus, now = get_bus(), time.time()
    levels = thresholds.current_levels(db.session)
    firing, resolved = alert_board(db.session)
    return render(
        "admin/dashboard.html",
        "admin/_alerts.html",
        activity=activity(db.session, bus, utcnow()),
        firing=firing,
        resolved=resolved,
        failed=failed_deliveries(db.session),
        panels=[(panel(bus, source, levels, now), INTERVAL_S[source]) for source in SOURCES],
        graphs={source: hour_graphs(bus, source, now) for source in SOURCES},
        intervals=INTERVAL_S,
        ai=read_status(bus),
        ai_poll=AI_POLL_S,
        now=now,
    )


@bp.post("/alerts/<int:alert_id>/ack")
@admin_only
def acknowledge(alert_id: int):
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        abort(404)
    if alerts.acknowledge(db.session, alert, current_user.id, utcnow()):
        audit_action(
            "alert_acknowledged",
            f"alert:{alert.id}",
            {"acknowledged": False},
            {"acknowledged": True},
        )
        db.session.commit()
        flash(_("Тревога подтверждена"), "ok")
    return redirect(url_for("admin_panel.dashboard"))


@bp.get("/thresholds")
@admin_only
def threshold_list():
    levels = thresholds.current_levels(db.session)
    return render(
        "admin/thresholds.html",
        "admin/thresholds.html",
        rows=[(METRICS[key], levels[key]) for key in thresholds.DEFAULTS],
        errors={},
    )


def _number(name: str) -> float | None:
    raw = request.form.get(name, "").strip().replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return None


@bp.post("/thresholds/<metric>")
@admin_only
def save_threshold(metric: str):
    try:
        levels = thresholds.validate(
            metric, _number("warning"), _number("critical"), _number("hysteresis")
        )
    except MonitoringError as exc:
        current = thresholds.current_levels(db.session)
        return render(
            "admin/thresholds.html",
            "admin/thresholds.html",
            status=422,
            rows=[(METRICS[key], current[key]) for key in thresholds.DEFAULTS],
            errors={metric: (exc.field, str(exc))},
        )
    before, after = thresholds.save_levels(db.session, levels, current_user.id)
    audit_action("threshold_changed", f"metric:{metric}", asdict(before), asdict(after))
    db.session.commit()
    flash(_("Пороги сохранены"), "ok")
    return redirect(url_for("admin_panel.threshold_list"))
