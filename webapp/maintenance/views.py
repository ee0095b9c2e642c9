"""The admin's backups page: the dumps on disk, a download link each, and "make one now"."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

from webapp.admin.audit import audit_action
from webapp.extensions import db
from webapp.maintenance import backups
from webapp.maintenance.access import admin_only

bp = Blueprint("maintenance", __name__, url_prefix="/admin/backups")


def _folder():
    return backups.folder_of(current_app.extensions["mehhost.settings"].instance_path)


@bp.get("/")
@admin_only
def backup_list():
    return render_template(
        "admin/backups.html", stored=backups.stored(_folder()), keep=backups.KEEP
    )


@bp.get("/<name>")
@admin_only
def download(name: str):
    if not backups.NAME.match(name):
        abort(404)
    audit_action("backup_downloaded", f"backup:{name}", None, None)
    db.session.commit()
    return send_from_directory(_folder(), name, as_attachment=True, max_age=0)


@bp.post("/")
@admin_only
def make_backup():
    from workers.tasks import nightly_backup

    audit_action("backup_requested", "backup", None, None)
    db.session.commit()
    nightly_backup()
    flash(_("Резервная копия создаётся: обновите страницу через минуту."), "ok")
    return redirect(url_for("maintenance.backup_list"))
