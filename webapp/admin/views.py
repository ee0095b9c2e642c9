from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts.access import acts_on_account, may_grant, refuse
from webapp.accounts.actions import block_audited
from webapp.accounts.errors import AccountError
from webapp.accounts.models import Role, User
from webapp.accounts.service import change_role, email_of
from webapp.admin.access import admin_only
from webapp.admin.activity import BAR_W, CHART_H, SIGN_IN_EVENTS, user_activity
from webapp.admin.service import PAGE_SIZE, STATES, UserQuery, search_users
from webapp.audit import audit_action
from webapp.auth import throttle
from webapp.auth.cookies import client_ip
from webapp.auth.service import unlock
from webapp.db import utcnow
from webapp.extensions import db, get_pii
from webapp.forms import PAGE_LIMIT, query_int
from webapp.rendering import render, safe_next

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@admin_only
def users():
    query = UserQuery(
        text=request.args.get("q", "")[:254],
        role=request.args.get("role", ""),
        state=request.args.get("state", ""),
        page=query_int("page", 1, high=PAGE_LIMIT),
    )
    now = utcnow()
    found, total = search_users(db.session, get_pii(), query, now)
    cipher = get_pii()
    return render(
        "admin/users.html",
        "admin/_users_table.html",
        users=[(user, email_of(user, cipher)) for user in found],
        locks=throttle.account_locks(db.session, [user.email_hash for user in found], now),
        total=total,
        query=query,
        pages=max(1, -(-total // PAGE_SIZE)),
        roles=list(Role),
        states=STATES,
    )


def _target(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _back():
    return redirect(safe_next(request.form.get("back"), url_for("admin.users")))


@bp.post("/users/<int:user_id>/role")
@admin_only
@acts_on_account
def set_role(user_id: int):
    try:
        role = Role(request.form.get("role", ""))
    except ValueError:
        abort(400)
    target = _target(user_id)
    if not may_grant(current_user, role):
        refuse(f"user:{target.id}", {"role": target.role})
    before = {"role": target.role}
    try:
        change_role(db.session, target, role, by=current_user, ip=client_ip())
    except AccountError as exc:
        flash(str(exc), "error")
        return _back()
    audit_action("role_changed", f"user:{target.id}", before, {"role": target.role})
    db.session.commit()
    flash(_("Роль изменена"), "ok")
    return _back()


@bp.post("/users/<int:user_id>/block")
@admin_only
@acts_on_account
def block(user_id: int):
    blocked = request.form.get("blocked") == "1"
    target = _target(user_id)
    try:
        block_audited(target, blocked, request.form.get("reason", "")[:200])
    except AccountError as exc:
        flash(str(exc), "error")
        return _back()
    db.session.commit()
    flash(_("Пользователь заблокирован") if blocked else _("Пользователь разблокирован"), "ok")
    return _back()


@bp.post("/users/<int:user_id>/unlock")
@admin_only
@acts_on_account
def unlock_user(user_id: int):
    target = _target(user_id)
    locks = throttle.account_locks(db.session, [target.email_hash], utcnow())
    before = {"locked_until": locks.get(target.email_hash)}
    unlock(db.session, target, by=current_user, ip=client_ip())
    audit_action("login_unlocked", f"user:{target.id}", before, {"locked_until": None})
    db.session.commit()
    flash(_("Блокировка входа снята"), "ok")
    return _back()


@bp.get("/users/<int:user_id>")
@admin_only
def activity(user_id: int):
    db.read_only()
    target = _target(user_id)
    return render_template(
        "admin/activity.html",
        user=target,
        email=email_of(target, get_pii()),
        activity=user_activity(db.session, target.id, utcnow()),
        event_names=SIGN_IN_EVENTS,
        chart_height=CHART_H,
        bar_width=BAR_W,
        now=utcnow(),
    )
