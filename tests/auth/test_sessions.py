"""Tokens (refresh rotation, reuse detection), device sessions and their limit."""

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import csrf_token, sign_in
from tests.factories import PASSWORD
from webapp.auth import sessions, tokens
from webapp.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE
from webapp.auth.models import DeviceSession
from webapp.auth.tasks import end_inactive_sessions
from webapp.auth.tokens import Claims
from webapp.db import utcnow
from webapp.monitoring.models import LogEntry


def login(client, email, password="wrong password"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def events(db_session, name):
    return db_session.scalars(select(LogEntry).where(LogEntry.event == name)).all()


def test_expired_access_token_is_refreshed_transparently(client, login_as, settings, db_session):
    user = login_as("user")
    device_session = sessions.active_sessions(db_session, user.id)[0]
    old_refresh = client.get_cookie(REFRESH_COOKIE).value
    expired = tokens.issue(
        settings.jwt_signing_key,
        Claims(user.id, device_session.id, "access"),
        utcnow() - timedelta(hours=1),
        timedelta(minutes=15),
    )
    client.set_cookie(ACCESS_COOKIE, expired)
    response = client.get("/profile")
    assert response.status_code == 200
    assert client.get_cookie(REFRESH_COOKIE).value != old_refresh
    assert client.get_cookie(ACCESS_COOKIE).value != expired
    assert client.get("/profile").status_code == 200


def test_reused_refresh_token_revokes_the_family_and_is_logged(client, login_as, db_session):
    user = login_as("user")
    stolen = client.get_cookie(REFRESH_COOKIE).value
    client.delete_cookie(ACCESS_COOKIE)
    assert client.get("/profile").status_code == 200  # rotates
    device_session = sessions.active_sessions(db_session, user.id)[0]
    device_session.rotated_at = utcnow() - timedelta(minutes=5)  # beyond the concurrency grace
    db_session.commit()

    thief = client.application.test_client()
    thief.set_cookie(REFRESH_COOKIE, stolen)
    assert thief.get("/profile").status_code == 302
    assert thief.get_cookie(REFRESH_COOKIE) is None
    assert db_session.get(DeviceSession, device_session.id).end_reason == "token_reuse"
    assert events(db_session, "refresh_token_reuse")
    client.delete_cookie(ACCESS_COOKIE)
    assert client.get("/profile").status_code == 302  # the owner is signed out too


def test_two_tabs_refreshing_at_once_are_not_taken_for_theft(client, login_as, db_session):
    user = login_as("user")
    refresh = client.get_cookie(REFRESH_COOKIE).value
    client.delete_cookie(ACCESS_COOKIE)
    other_tab = client.application.test_client()
    other_tab.set_cookie(REFRESH_COOKIE, refresh)
    assert client.get("/profile").status_code == 200
    assert other_tab.get("/profile").status_code == 200
    assert sessions.active_sessions(db_session, user.id)


def test_tampered_or_foreign_tokens_mean_logged_out(client, login_as):
    login_as("user")
    access = client.get_cookie(ACCESS_COOKIE).value
    client.set_cookie(ACCESS_COOKIE, access[:-2] + ("AA" if not access.endswith("AA") else "BB"))
    client.delete_cookie(REFRESH_COOKIE)
    assert client.get("/profile").status_code == 302
    forged = tokens.issue("x" * 40, Claims(1, "s", "access"), utcnow(), timedelta(minutes=5))
    client.set_cookie(ACCESS_COOKIE, forged)
    assert client.get("/profile").status_code == 302


def test_sixth_device_chooses_a_session_to_end(client, make_user, db_session, settings):
    user = make_user(email="many@example.ru")
    for n in range(5):
        sign_in(client.application.test_client(), db_session, settings, user, f"device {n}")
    response = login(client, "many@example.ru", PASSWORD)
    assert response.headers["Location"].startswith("/login/devices")
    page = client.get("/login/devices").get_data(as_text=True)
    assert page.count("Завершить и войти") == 5
    victim = sessions.active_sessions(db_session, user.id)[-1]
    token = csrf_token(client, "/login/devices")
    done = client.post("/login/devices", data={"session_id": victim.id, "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/profile").status_code == 200
    assert db_session.get(DeviceSession, victim.id).end_reason == "replaced"
    assert len(sessions.active_sessions(db_session, user.id)) == 5


def test_device_choice_page_without_a_pending_login_goes_to_login(client):
    assert client.get("/login/devices").headers["Location"] == "/login"


def test_profile_ends_one_device_or_all_others(client, login_as, db_session, settings):
    user = login_as("user")
    phone = client.application.test_client()
    tablet = client.application.test_client()
    phone_session = sign_in(phone, db_session, settings, user, "phone")
    sign_in(tablet, db_session, settings, user, "tablet")
    token = csrf_token(client, "/profile")
    client.post(f"/profile/devices/{phone_session.id}/end", data={"csrf_token": token})
    assert phone.get("/profile").status_code == 302
    assert tablet.get("/profile").status_code == 200
    client.post("/profile/devices/end-others", data={"csrf_token": token})
    assert tablet.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 200


def test_nobody_ends_another_users_device(client, login_as, make_user, db_session, settings):
    login_as("admin")
    other = make_user()
    victim_client = client.application.test_client()
    victim = sign_in(victim_client, db_session, settings, other)
    token = csrf_token(client, "/profile")
    response = client.post(f"/profile/devices/{victim.id}/end", data={"csrf_token": token})
    assert response.status_code == 404
    assert victim_client.get("/profile").status_code == 200


def test_ending_a_session_is_announced_on_the_bus(app, client, login_as, db_session):
    bus = app.extensions["mehhost.bus"]
    listener = bus.subscribe(sessions.SESSION_EVENTS)
    user = login_as("user")
    device_session = sessions.active_sessions(db_session, user.id)[0]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    _channel, message = listener.get(timeout=2)
    listener.close()
    assert message == {"event": "ended", "session_id": device_session.id, "user_id": user.id}


def test_inactive_sessions_end_by_the_periodic_task(worker_app, login_as, db_session):
    user = login_as("user")
    device_session = sessions.active_sessions(db_session, user.id)[0]
    device_session.last_seen_at = utcnow() - timedelta(days=31)
    db_session.commit()
    assert end_inactive_sessions.call_local() == 1
    assert db_session.get(DeviceSession, device_session.id).end_reason == "inactive"


def test_logout_clears_cookies_and_ends_the_session(client, login_as, db_session):
    user = login_as("user")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get_cookie(ACCESS_COOKIE) is None
    assert sessions.active_sessions(db_session, user.id) == []
