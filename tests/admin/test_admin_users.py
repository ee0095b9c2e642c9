from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.accounts.models import Role, User
from webapp.auth.errors import InvalidCredentials
from webapp.auth.service import authenticate
from webapp.chat.models import Dialog, Message, Status
from webapp.chat.models import Role as MessageRole
from webapp.db import utcnow
from webapp.monitoring.models import LogEntry


def test_admin_finds_users_by_exact_email_and_by_whole_name(client, login_as, make_user):
    login_as("admin")
    make_user(email="olga@example.ru", display_name="Ольга")
    make_user(email="ivan@example.ru", display_name="Иван")
    by_email = client.get("/admin/users?q=OLGA@example.ru").get_data(as_text=True)
    assert "Ольга" in by_email and "Иван" not in by_email
    by_name = client.get("/admin/users?q=иван", headers={"HX-Request": "true"})
    body = by_name.get_data(as_text=True)
    assert "Иван" in body and "Ольга" not in body and "<html" not in body
    # Names are encrypted at rest: a part of one finds nothing (no LIKE over ciphertext).
    assert "Иван" not in client.get("/admin/users?q=Ива").text


def test_admin_changes_a_role_and_it_is_logged(client, login_as, make_user, db_session):
    login_as("admin")
    target = make_user()
    token = csrf_token(client, "/admin/users")
    client.post(f"/admin/users/{target.id}/role", data={"role": "manager", "csrf_token": token})
    assert db_session.get(User, target.id).role == Role.MANAGER
    entry = db_session.scalar(select(LogEntry).where(LogEntry.event == "role_changed"))
    assert entry.user_id == target.id and '"new": "manager"' in entry.detail


def test_admin_cannot_change_own_role_or_block_self(client, login_as, db_session):
    admin = login_as("admin")
    token = csrf_token(client, "/admin/users")
    own = client.post(f"/admin/users/{admin.id}/role", data={"role": "user", "csrf_token": token})
    assert own.status_code == 403  # nobody outranks themselves
    assert f'action="/admin/users/{admin.id}/role"' not in client.get("/admin/users").text
    blocked = client.post(
        f"/admin/users/{admin.id}/block", data={"blocked": "1", "csrf_token": token}
    )
    assert blocked.status_code == 403
    assert db_session.get(User, admin.id).role == Role.ADMIN
    assert not db_session.get(User, admin.id).is_blocked


def test_blocking_ends_every_session_at_once_and_unblock_restores_login(
    client, login_as, make_user, db_session, settings
):
    login_as("admin")
    target = make_user()
    victim = client.application.test_client()
    sign_in(victim, db_session, settings, target)
    assert victim.get("/profile").status_code == 200
    token = csrf_token(client, "/admin/users")
    client.post(f"/admin/users/{target.id}/block", data={"blocked": "1", "csrf_token": token})
    assert victim.get("/profile").status_code == 302
    assert db_session.get(User, target.id).is_blocked
    client.post(f"/admin/users/{target.id}/block", data={"blocked": "0", "csrf_token": token})
    assert not db_session.get(User, target.id).is_blocked


def test_unknown_role_or_user_is_refused(client, login_as, make_user):
    login_as("admin")
    target = make_user()
    token = csrf_token(client, "/admin/users")
    bad_role = client.post(
        f"/admin/users/{target.id}/role", data={"role": "god", "csrf_token": token}
    )
    assert bad_role.status_code == 400
    missing = client.post("/admin/users/999999/role", data={"role": "user", "csrf_token": token})
    assert missing.status_code == 404


def test_admin_table_filters_by_role_and_state(client, login_as, make_user, db_session):
    login_as("admin")
    make_user(display_name="Менеджер Мария", role=Role.MANAGER)
    blocked = make_user(display_name="Блокированный Борис")
    blocked.is_blocked = True
    db_session.commit()
    managers = client.get("/admin/users?role=manager").get_data(as_text=True)
    assert "Менеджер Мария" in managers and "Борис" not in managers
    blocked_page = client.get("/admin/users?state=blocked").get_data(as_text=True)
    assert "Блокированный Борис" in blocked_page and "Мария" not in blocked_page


def test_a_users_activity_shows_sign_ins_devices_and_messages_per_day(
    client, login_as, make_user, db_session, settings, count_queries
):
    login_as("admin")
    target = make_user(email="vera@example.ru", display_name="Вера")
    sign_in(client.application.test_client(), db_session, settings, target, device="Pixel 7")
    pii = client.application.extensions["mehhost.pii"]
    with pytest.raises(InvalidCredentials):
        authenticate(
            db_session, pii, settings, "vera@example.ru", "nope", ip="10.0.0.9", now=utcnow()
        )
    db_session.commit()
    dialog = Dialog(user_id=target.id, character_id=factories.character(db_session).id)
    db_session.add(dialog)
    db_session.flush()
    now = utcnow()

    def message(role, status, days_ago=0):
        when = now - timedelta(days=days_ago)
        db_session.add(Message(dialog_id=dialog.id, role=role, status=status, created_at=when))

    for days_ago, count in ((0, 3), (2, 1), (40, 5)):  # 40 days ago is outside the chart
        for _ in range(count):
            message(MessageRole.USER, Status.DELIVERED, days_ago)
    message(MessageRole.ASSISTANT, Status.DONE)  # the character's words are not counted
    db_session.commit()

    listing = client.get("/admin/users?q=Вера").get_data(as_text=True)
    assert f'href="/admin/users/{target.id}"' in listing
    with count_queries() as counter:
        page = client.get(f"/admin/users/{target.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "vera@example.ru" in body and "Pixel 7" in body
    assert "неудачная попытка входа" in body and "10.0.0.9" in body
    assert "За 30 дней: 4, больше всего за день: 3" in body
    assert body.count("<rect ") == 30
    assert counter.count <= 8, counter.statements


def test_activity_is_for_admins_only_and_unknown_users_are_404(client, login_as, make_user):
    target = make_user()
    login_as("moderator")
    assert client.get(f"/admin/users/{target.id}").status_code == 403
    login_as("admin")
    assert client.get("/admin/users/999999").status_code == 404
