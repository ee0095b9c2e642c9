"""The probe's findings, one test each: TOTP guessing, weak passwords, old reset links, numbers
past INT, caching of private pages."""

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.accounts.models import Role, User
from webapp.auth import totp
from webapp.auth.links import issue_link
from webapp.auth.models import LinkPurpose
from webapp.db import utcnow
from webapp.monitoring.models import LogEntry


def _enrolled(app, db_session, user) -> str:
    secret = pyotp.random_base32()
    now = utcnow() - timedelta(minutes=5)
    user = db_session.get(User, user.id)
    assert totp.enable(user, app.extensions["mehhost.pii"], secret, pyotp.TOTP(secret).at(now), now)
    db_session.commit()
    return secret


def test_the_sixth_wrong_code_is_refused_without_being_checked(
    app, client, login_as, db_session, monkeypatch
):
    user = login_as(Role.ADMIN)
    secret = _enrolled(app, db_session, user)
    token = csrf_token(client, "/profile/totp")
    for _ in range(5):
        client.post("/profile/totp/disable", data={"code": "000000", "csrf_token": token})
    checked = []
    real = totp._matching_step
    monkeypatch.setattr(totp, "_matching_step", lambda *a: checked.append(1) or real(*a))
    right = pyotp.TOTP(secret).now()
    response = client.post(
        "/profile/totp/disable", data={"code": right, "csrf_token": token}, follow_redirects=True
    )
    assert "слишком много неверных попыток" in response.text
    assert not checked  # not even looked at
    db_session.expire_all()
    assert totp.enabled(db_session.get(User, user.id))
    failed = db_session.scalars(select(LogEntry).where(LogEntry.event == "totp_failed")).all()
    assert len(failed) == 6
    # The emergency stop shares the count: it is refused too.
    page = client.post(
        "/maintenance/",
        data={
            "kind": "emergency",
            "scope": "all",
            "minutes": "20",
            "reason": "Атака",
            "totp": right,
            "csrf_token": csrf_token(client, "/maintenance/"),
        },
    )
    assert "слишком много неверных попыток" in page.text


def test_wrong_codes_are_forgotten_after_the_window(app, db_session, make_user):
    user = make_user()
    secret = _enrolled(app, db_session, user)
    cipher = app.extensions["mehhost.pii"]
    now = utcnow()
    for _ in range(5):
        assert not totp.verify(user, cipher, "000000", now)
    with pytest.raises(totp.TooManyCodes):
        totp.verify(user, cipher, pyotp.TOTP(secret).at(now), now)
    later = now + totp.WRONG_WINDOW
    assert totp.verify(user, cipher, pyotp.TOTP(secret).at(later), later)
    assert user.totp_failures == 0


@pytest.mark.parametrize(
    ("password", "advice"),
    [("aaaaaaaa", "Повторы"), ("zxcvbnm,.", "клавиш"), ("password1", "распространённ")],
)
def test_weak_passwords_are_refused_with_russian_advice(password, advice):
    from webapp.accounts.passwords import password_problem

    problem = str(password_problem(password, "someone@example.ru"))
    assert problem.startswith("Пароль:") and advice in problem


def test_a_strong_password_passes():
    from webapp.accounts.passwords import password_problem

    assert password_problem("лунный свет над рекой 7", "someone@example.ru") is None


def test_an_older_reset_link_dies_when_a_newer_one_is_used(app, db_session, make_user):
    user = make_user()
    now = utcnow()
    older = issue_link(db_session, user, LinkPurpose.RESET_PASSWORD, now)
    newer = issue_link(db_session, user, LinkPurpose.RESET_PASSWORD, now + timedelta(seconds=61))
    db_session.commit()
    client = app.test_client()
    token = csrf_token(client, f"/reset/{newer}")
    new_password = "вечерний поезд на север 42"
    data = {"password": new_password, "confirm": new_password, "csrf_token": token}
    assert client.post(f"/reset/{newer}", data=data).status_code == 302
    assert client.get(f"/reset/{older}").status_code == 410


@pytest.mark.parametrize(
    "url",
    [
        "/admin/users?page=99999999999999999999",
        "/admin/logs?user=99999999999999999999",
        "/admin/logs?page=-1",
        "/moderation/users?page=99999999999999999999",
        "/admin/users/99999999999999999999",
    ],
)
def test_numbers_past_the_database_range_are_a_client_error(client, login_as, url):
    login_as(Role.ADMIN)
    assert client.get(url).status_code in (400, 404)


def test_a_dialog_page_before_past_int_is_a_client_error(client, login_as, db_session):
    from tests.factories import character

    login_as(Role.USER)
    hero = character(db_session)
    token = csrf_token(client, f"/characters/{hero.id}")
    started = client.post(f"/characters/{hero.id}/dialogs", data={"csrf_token": token})
    dialog = started.headers["Location"]
    assert client.get(f"{dialog}?before=99999999999999999999").status_code == 400
    assert client.get("/chat/99999999999999999999").status_code == 404


@pytest.mark.parametrize("path", ["/profile", "/profile/export", "/favorites", "/admin/users"])
def test_private_pages_are_never_cached(client, login_as, path):
    login_as(Role.ADMIN)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_public_pages_and_static_files_keep_their_caching(client):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")


UPGRADE = {
    "Authorization": "Bearer mhn_guess",
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
def fresh_limits():
    from webapp.extensions import limiter

    limiter.reset()
    yield
    limiter.reset()  # the counts of this test's address must not refuse later tests' nodes


def test_wrong_node_keys_from_one_address_are_bounded(client, db_session, fresh_limits):
    for _ in range(10):
        response = client.get("/node/ws", headers=UPGRADE)
        assert response.status_code == 401
    refused = client.get("/node/ws", headers=UPGRADE)
    assert refused.status_code == 429  # the key is no longer even looked at
    rejected = db_session.scalars(
        select(LogEntry).where(LogEntry.event == "node_key_rejected")
    ).all()
    assert len(rejected) == 10
    other = client.get("/node/ws", headers=UPGRADE, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert other.status_code == 401


@pytest.mark.parametrize(
    "target",
    ["/?\nenv;", "/\\evil.example", "//evil.example", "https://evil.example/", "/x\x7f", "x"],
)
def test_a_redirect_target_from_a_form_stays_on_the_site(client, target):
    """wapiti's CRLF probe found a 500 here: a newline in `next` ended the Location header."""
    token = csrf_token(client, "/login")
    response = client.post(
        "/prefs/theme", data={"value": "light", "next": target, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
