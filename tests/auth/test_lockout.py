"""Wrong passwords slow guessing down without locking the owner out, and tell nobody which
addresses have accounts (auth.throttle)."""

import re
from datetime import timedelta

from sqlalchemy import select, update

from tests.conftest import csrf_token
from tests.factories import PASSWORD
from webapp.auth.models import LoginThrottle
from webapp.db import utcnow
from webapp.monitoring.models import LogEntry

WRONG = "wrong password"


def login(client, email, password=WRONG, ip="127.0.0.1"):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def page_text(response) -> str:
    """The answer without what differs between any two requests (CSRF tokens, nonces)."""
    return re.sub(r'"[\w.\-]{40,}"', "", response.get_data(as_text=True))


def expire_locks(db_session):
    db_session.execute(update(LoginThrottle).values(until=utcnow() - timedelta(seconds=1)))
    db_session.commit()


def test_the_third_wrong_password_says_until_when_and_the_lock_runs_out(app, make_user, db_session):
    make_user(email="lock@example.ru")
    client = app.test_client()
    assert "Неверный email или пароль" in login(client, "lock@example.ru").text
    login(client, "lock@example.ru")
    third = login(client, "lock@example.ru").text
    assert "Вход закрыт до" in third
    # The right password from this new device waits too, and is not even checked.
    assert "Вход закрыт до" in login(client, "lock@example.ru", PASSWORD).text
    locked = db_session.scalars(select(LogEntry).where(LogEntry.event == "account_locked")).all()
    assert locked
    expire_locks(db_session)
    assert login(client, "lock@example.ru", PASSWORD).status_code == 302


def test_a_known_device_signs_in_while_strangers_are_locked_out(app, make_user, db_session):
    make_user(email="owner@example.ru")
    phone = app.test_client()
    assert login(phone, "owner@example.ru", PASSWORD, ip="10.0.0.5").status_code == 302
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/profile")})
    attacker = app.test_client()
    for _ in range(3):
        login(attacker, "owner@example.ru", ip="203.0.113.9")
    assert "Вход закрыт до" in login(attacker, "owner@example.ru", PASSWORD, ip="203.0.113.9").text
    # The owner's phone signed in here before: the lock is not for it, and its sign-in does
    # not lift the lock for the stranger's devices.
    assert login(phone, "owner@example.ru", PASSWORD, ip="10.0.0.5").status_code == 302
    other = app.test_client()
    assert "Вход закрыт до" in login(other, "owner@example.ru", PASSWORD, ip="203.0.113.10").text
    # A forged "known device" cookie counts for nothing.
    forger = app.test_client()
    forger.set_cookie("mh_known", "WzFd.forged")
    assert "Вход закрыт до" in login(forger, "owner@example.ru", PASSWORD, ip="10.0.0.6").text


def test_a_known_device_still_waits_after_its_own_wrong_passwords(app, make_user):
    make_user(email="own@example.ru")
    phone = app.test_client()
    assert login(phone, "own@example.ru", PASSWORD).status_code == 302
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/profile")})
    for _ in range(3):
        login(phone, "own@example.ru")
    assert "Вход закрыт до" in login(phone, "own@example.ru", PASSWORD).text


def test_existing_and_unknown_emails_get_the_same_answers(app, make_user):
    make_user(email="real@example.ru")
    real, ghost = app.test_client(), app.test_client()
    for attempt in range(4):
        mine = login(real, "real@example.ru", ip="198.51.100.1")
        theirs = login(ghost, "nobody@example.ru", ip="198.51.100.2")
        assert mine.status_code == theirs.status_code, attempt
        assert page_text(mine).replace("real@", "X@") == page_text(theirs).replace(
            "nobody@", "X@"
        ), attempt


def test_many_accounts_from_one_ip_slow_that_ip_down(app, make_user, monkeypatch):
    from webapp.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # its 10 a minute per IP would answer first
    client = app.test_client()
    for number in range(20):
        login(client, f"spray{number}@example.ru", ip="192.0.2.7")
    assert "Вход закрыт до" in login(client, "spray99@example.ru", ip="192.0.2.7").text
    assert "Неверный email" in login(client, "spray99@example.ru", ip="192.0.2.8").text


def test_a_right_password_starts_the_count_again(app, make_user, db_session):
    make_user(email="count@example.ru")
    client = app.test_client()
    login(client, "count@example.ru")
    login(client, "count@example.ru")
    assert login(client, "count@example.ru", PASSWORD).status_code == 302
    kinds = set(db_session.scalars(select(LoginThrottle.kind)))
    assert kinds == {"ip"}  # the account's and the pair's counters are gone


def test_admin_sees_and_lifts_a_lock(app, client, login_as, make_user, db_session):
    target = make_user(email="locked@example.ru")
    stranger = app.test_client()
    for _ in range(3):
        login(stranger, "locked@example.ru", ip="203.0.113.50")
    login_as("admin")
    page = client.get("/admin/users?state=locked").text
    assert "locked@example.ru" in page and "Снять блокировку входа" in page
    token = csrf_token(client, "/admin/users")
    client.post(f"/admin/users/{target.id}/unlock", data={"csrf_token": token})
    assert "locked@example.ru" not in client.get("/admin/users?state=locked").text


def test_registration_answers_alike_for_taken_and_new_addresses(app, make_user, monkeypatch):
    from webapp.auth import registration

    make_user(email="taken@example.ru")
    hashed = []
    real_hash = registration.hash_password
    monkeypatch.setattr(registration, "hash_password", lambda *a: hashed.append(1) or real_hash(*a))
    answers = []
    for email in ("taken@example.ru", "fresh@example.ru"):
        client = app.test_client()
        token = csrf_token(client, "/register")
        response = client.post(
            "/register",
            data={
                "email": email,
                "password": "лунный свет над рекой 7",
                "display_name": "Гость",
                "consent": "y",
                "csrf_token": token,
            },
        )
        answers.append((response.status_code, response.headers.get("Location")))
    assert answers[0] == answers[1]
    assert len(hashed) == 1  # the taken address paid for a hash too (create_user hashes itself)


def test_resend_answers_alike_for_every_kind_of_address(app, make_user):
    make_user(email="fresh-unconfirmed@example.ru", confirmed=False)
    make_user(email="confirmed@example.ru")
    bodies = []
    for email in ("fresh-unconfirmed@example.ru", "confirmed@example.ru", "none@example.ru"):
        client = app.test_client()
        for _ in range(2):  # the second one is "too soon" for the unconfirmed account
            token = csrf_token(client, "/register/check-email")
            response = client.post("/confirm/resend", data={"email": email, "csrf_token": token})
        bodies.append((response.status_code, page_text(response).replace(email, "X")))
    assert bodies[0] == bodies[1] == bodies[2]


def test_a_known_device_is_not_slowed_by_strangers_on_its_shared_address(
    app, make_user, monkeypatch
):
    from webapp.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)
    make_user(email="cgnat@example.ru")
    phone = app.test_client()
    assert login(phone, "cgnat@example.ru", PASSWORD, ip="100.64.0.1").status_code == 302
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/profile")})
    strangers = app.test_client()
    for number in range(25):  # a carrier's shared address: others guess at other accounts
        login(strangers, f"victim{number}@example.ru", ip="100.64.0.1")
    assert "Вход закрыт до" in login(strangers, "another@example.ru", ip="100.64.0.1").text
    assert login(phone, "cgnat@example.ru", PASSWORD, ip="100.64.0.1").status_code == 302
