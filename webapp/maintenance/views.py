"""Maintenance pages: windows (request, confirm, reject, cancel; history with filters and
downtime) for moderators and admins, and the admin's backups (list, download, make one now)."""

from __future__ import annotations

from datetime import UTC, datetime

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.audit import audit_action
from webapp.auth import totp
from webapp.auth.cookies import client_ip, too_many_codes
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_pii
from webapp.maintenance import backups, emails, notice, recovery, service
from webapp.maintenance.access import admin_only, staff_only
from webapp.maintenance.errors import MaintenanceError
from webapp.maintenance.forms import KIND_NAMES, SCOPE_NAMES, WindowForm
from webapp.maintenance.models import Kind, MaintenanceWindow, State
from webapp.maintenance.tasks import maintenance_tick, nightly_backup, recover_window
from webapp.monitoring import logs
from webapp.rendering import render

STATE_NAMES = {
    State.REQUESTED: _l("ждёт подтверждения"),
    State.SCHEDULED: _l("запланировано"),
    State.DRAINING: _l("останавливается"),
    State.DOWN: _l("идут работы"),
    State.RECOVERING: _l("восстанавливается"),
    State.UP: _l("завершено"),
    State.CANCELLED: _l("отменено"),
    State.REJECTED: _l("отклонено"),
}

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
    audit_action("backup_requested", "backup", None, None)
    db.session.commit()
    nightly_backup()
    flash(_("Резервная копия создаётся: обновите страницу через минуту."), "ok")
    return redirect(url_for("maintenance.backup_list"))


windows = Blueprint("maintenance_windows", __name__, url_prefix="/maintenance")


def _now():
    return utcnow()


def _window(window_id: int) -> MaintenanceWindow:
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None:
        abort(404)
    return window


def _changed(event: str, window: MaintenanceWindow, before: str) -> None:
    audit_action(event, f"maintenance:{window.id}", {"state": before}, {"state": window.state})
    db.session.commit()
    notice.forget(get_bus())


@windows.route("/", methods=["GET", "POST"])
@staff_only
def window_list():
    form = WindowForm()
    now = _now()
    if request.method == "POST":
        asked = form.to_request(current_user.timezone or "Europe/Moscow", now)
        if asked is not None and asked.kind == Kind.EMERGENCY and not _second_factor(form, now):
            asked = None
        if asked is not None:
            try:
                window = service.request_window(db.session, current_user, asked, now)
            except MaintenanceError as exc:
                getattr(form, exc.field or "kind").errors = [str(exc)]
            else:
                _changed("maintenance_requested", window, "")
                if window.kind == Kind.EMERGENCY:
                    maintenance_tick()  # the stop begins now, not at the next minute
                flash(_("Окно №%(n)s сохранено.", n=window.id), "ok")
                return redirect(url_for("maintenance_windows.window_list"))
    filters = {
        "kind": request.args.get("kind") if request.args.get("kind") in set(Kind) else None,
        "state": request.args.get("state") if request.args.get("state") in set(State) else None,
    }
    since = _day(request.args.get("since"))
    until = _day(request.args.get("until"))
    found = service.history(db.session, since=since, until=until, **filters)
    return render_template(
        "maintenance/windows.html",
        form=form,
        windows=found,
        people=service.names(db.session, found),
        downtime=service.downtime(db.session, now),
        filters=request.args,
        kinds=KIND_NAMES,
        scopes=SCOPE_NAMES,
        states=STATE_NAMES,
    ), (422 if request.method == "POST" else 200)


def _second_factor(form: WindowForm, now: datetime) -> bool:
    """An emergency stop needs the admin's TOTP code; a wrong one is refused and logged."""
    if not totp.enabled(current_user):
        form.totp.errors = [_("Код: сначала включите двухфакторную защиту в профиле.")]
        return False
    try:
        if totp.verify(current_user, get_pii(), form.totp.data or "", now):
            return True
        form.totp.errors = [_("Код: не подходит. Экстренное выключение не начато.")]
    except totp.TooManyCodes as exc:
        form.totp.errors = [too_many_codes(exc)]
    logs.security(
        db.session,
        "totp_failed",
        user_id=current_user.id,
        ip=client_ip(),
        device=request.user_agent.string,
        action="emergency_stop",
    )
    db.session.commit()
    return False


def _day(raw: str | None) -> datetime | None:
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC) if raw else None
    except ValueError:
        return None


def _decide(window_id: int, change, event: str, said: str | None):
    """Apply an admin's decision to a requested window, audit it, say how it went."""
    window = _window(window_id)
    before = window.state
    try:
        change(window)
    except MaintenanceError as exc:
        flash(str(exc), "error")
    else:
        _changed(event, window, before)
        if said:
            flash(said % {"n": window.id}, "ok")
    return redirect(url_for("maintenance_windows.window_list"))


@windows.post("/<int:window_id>/confirm")
@admin_only
def confirm(window_id: int):
    return _decide(
        window_id,
        lambda window: service.confirm(db.session, current_user, window, _now()),
        "maintenance_confirmed",
        _("Окно №%(n)s подтверждено."),
    )


@windows.post("/<int:window_id>/reject")
@admin_only
def reject(window_id: int):
    return _decide(window_id, service.reject, "maintenance_rejected", None)


@windows.post("/<int:window_id>/cancel")
@admin_only
def cancel(window_id: int):
    window = _window(window_id)
    before = window.state
    try:
        told = service.cancel(window, _now())
    except MaintenanceError as exc:
        flash(str(exc), "error")
        return redirect(url_for("maintenance_windows.window_list"))
    if told:
        emails.send(db.session, get_pii(), window, "cancelled")
    _changed("maintenance_cancelled", window, before)
    flash(_("Окно №%(n)s отменено.", n=window.id), "ok")
    return redirect(url_for("maintenance_windows.window_list"))


@windows.post("/<int:window_id>/recover")
@admin_only
def recover(window_id: int):
    """ "Start the service": the checked recovery steps, watched on the next page."""
    window = _window(window_id)
    if window.state != State.DOWN:
        flash(_("Запустить можно только остановленный сервис."), "error")
        return redirect(url_for("maintenance_windows.window_list"))
    audit_action("maintenance_recovery_started", f"maintenance:{window.id}", None, None)
    db.session.commit()
    recover_window(window.id)
    return redirect(url_for("maintenance_windows.recovery_progress", window_id=window.id))


@windows.get("/<int:window_id>/recovery")
@staff_only
def recovery_progress(window_id: int):
    window = _window(window_id)
    return render(
        "maintenance/recovery.html",
        "maintenance/_recovery.html",
        window=window,
        progress=recovery.read(get_bus(), window.id),
    )
