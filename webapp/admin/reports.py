"""The admin's reports: the daily, weekly and incident reports kept on disk, downloadable as
HTML or PDF, and a button that makes the daily or weekly report now (by the worker)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

from webapp.admin.access import admin_only
from webapp.analysis import reports
from webapp.analysis.tasks import daily_report, weekly_report
from webapp.audit import audit_action
from webapp.extensions import db

bp = Blueprint("admin_reports", __name__, url_prefix="/admin/reports")
ON_DEMAND = ("daily", "weekly")


def _folder():
    return reports.folder_of(current_app.extensions["mehhost.settings"].instance_path)


@bp.get("/")
@admin_only
def index():
    return render_template("admin/reports.html", stored=reports.stored(_folder()))


@bp.get("/<name>")
@admin_only
def download(name: str):
    if not reports.NAME.match(name):
        abort(404)
    return send_from_directory(_folder(), name, as_attachment=name.endswith(".pdf"), max_age=0)


@bp.post("/make")
@admin_only
def make():
    kind = request.form.get("kind", "")
    if kind not in ON_DEMAND:
        flash(_("Вид отчёта: выберите «за сутки» или «за неделю»."), "error")
        return redirect(url_for("admin_reports.index"))
    audit_action("report_requested", f"report:{kind}", None, {"kind": kind})
    db.session.commit()
    (daily_report if kind == "daily" else weekly_report)()
    flash(_("Отчёт готовится: он появится в списке и придёт на почту разработчикам."), "ok")
    return redirect(url_for("admin_reports.index"))
