"""Maintenance windows with an injected clock: notices at 24/12/1 h, the banner from 1 h, the
modal from 15 min, sign-ins closed from 5 min, the stop (flag, broadcast, static page) and the
recovery; the request rules (past, overlap, who may do what); cancelling tells people."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from tests import factories
from tests.conftest import csrf_token
from tests.factories import PASSWORD
from tests.fakes import FakeSocket
from webapp.accounts.models import Role, User
from webapp.auth import totp
from webapp.maintenance import flag, lifecycle, notice, service, tasks
from webapp.maintenance.errors import MaintenanceError
from webapp.maintenance.models import Kind, MaintenanceWindow, Scope, State
from webapp.maintenance.service import Request
from webapp.monitoring.models import LogEntry

START = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)  # 00:00 Moscow


@pytest.fixture(autouse=True)
def _no_stop_outlives_its_test(app):
    yield
    bus = app.extensions["mehhost.bus"]
    bus.delete(lifecycle.FLAG_KEY)  # a stop left on would pause replies in every later test
    notice.forget(bus)


@pytest.fixture
def clock(monkeypatch, app):
    """Moves "now" for the pages and the worker; the bus cache is dropped on every move."""
    state = {"now": START - timedelta(days=2)}
    for where in ("maintenance.banner", "maintenance.views", "maintenance.tasks", "db"):
        monkeypatch.setattr(f"webapp.{where}.utcnow", lambda: state["now"])

    def at(moment: datetime) -> datetime:
        state["now"] = moment
        notice.forget(app.extensions["mehhost.bus"])
        return moment

    yield at
    notice.forget(app.extensions["mehhost.bus"])  # the next test sees no window of this one


def schedule(db_session, admin, **changes) -> MaintenanceWindow:
    asked = Request(
        changes.pop("kind", Kind.PLANNED),
        changes.pop("scope", Scope.ALL),
        changes.pop("starts_at", START),
        changes.pop("minutes", 30),
        changes.pop("reason", "Замена диска"),
    )
    window = service.request_window(
        db_session, admin, asked, changes.pop("now", START - timedelta(days=2))
    )
    db_session.commit()
    return window


def test_the_whole_planned_sequence_with_an_injected_clock(
    app, client, db_session, make_user, login_as, mailbox, clock, settings
):
    bus = app.extensions["mehhost.bus"]
    reader = make_user(display_name="Читатель")
    quiet = make_user(display_name="Без писем")
    quiet.maintenance_emails = False
    db_session.commit()
    admin = make_user(role=Role.ADMIN)
    window = schedule(db_session, admin)
    assert window.state == State.SCHEDULED

    def tick(moment):
        clock(moment)
        return tasks.maintenance_tick.call_local()

    assert tick(START - timedelta(hours=30))["notices"] == 0
    sent = tick(START - timedelta(hours=24))["notices"]
    assert sent >= 2  # the reader and the admin; not the person who opted out
    to_reader = [
        m for m in mailbox.messages() if "Читатель" in m.get_body(("plain",)).get_content()
    ]
    assert len(to_reader) == 1
    body = to_reader[0].get_body(("plain",)).get_content()
    assert "06.12.2026 00:00 (Europe/Moscow)" in body and "Замена диска" in body
    assert not [
        m for m in mailbox.messages() if "Без писем" in m.get_body(("plain",)).get_content()
    ]
    assert tick(START - timedelta(hours=23))["notices"] == 0  # once each
    assert tick(START - timedelta(hours=12))["notices"] == sent
    assert tick(START - timedelta(hours=1))["notices"] == sent

    login_as(Role.USER)
    clock(START - timedelta(minutes=61))
    assert "maintenance-banner" not in client.get("/").get_data(as_text=True)
    clock(START - timedelta(minutes=59))
    page = client.get("/").get_data(as_text=True)
    assert "maintenance-banner" in page and "<dialog" not in page
    assert "Через 59 мин (в 00:00) начнутся технические работы" in page
    clock(START - timedelta(minutes=14))
    assert "<dialog open" in client.get("/").get_data(as_text=True)

    clock(START - timedelta(minutes=4))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    refused = client.post(
        "/login",
        data={
            "email": email_of(app, reader),
            "password": PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert refused.status_code == 422 and "Вход временно закрыт" in refused.get_data(as_text=True)
    registering = client.post(
        "/register",
        data={
            "email": "new@example.ru",
            "display_name": "Новый",
            "password": "x" * 12,
            "consent": "y",
            "csrf_token": csrf_token(client, "/register"),
        },
    )
    assert registering.status_code == 503
    assert 'value="new@example.ru"' in registering.get_data(as_text=True)  # nothing lost
    allowed = client.post(
        "/login",
        data={
            "email": email_of(app, admin),
            "password": PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert allowed.status_code == 302  # the admin still gets in to run the works

    listener = bus.subscribe(flag.CHANNEL)
    assert tick(START)["stopped"] == 1
    window = db_session.get(MaintenanceWindow, window.id)
    assert window.state == State.DOWN and window.stopped_at == START
    assert bus.get(lifecycle.FLAG_KEY)["window"] == window.id
    _channel, message = listener.get(timeout=2)
    assert message["type"] == "maintenance_start" and not message["rehearsal"]
    static = (settings.maintenance_page_dir / "maintenance.html").read_text(encoding="utf-8")
    assert "06.12.2026 00:30 по Москве" in static and "Замена диска" in static

    assert tick(START + timedelta(minutes=31))["recovered"] == 1
    window = db_session.get(MaintenanceWindow, window.id)
    assert window.state == State.UP and bus.get(lifecycle.FLAG_KEY) is None
    assert "снова работает" in mailbox.messages()[-1]["Subject"]
    listener.close()


def email_of(app, user) -> str:
    from webapp.accounts.service import email_of as decrypt

    return decrypt(user, app.extensions["mehhost.pii"])


def test_bad_windows_are_refused_with_the_field_named(app, db_session, make_user):
    admin = make_user(role=Role.ADMIN)
    now = START - timedelta(days=1)
    with pytest.raises(MaintenanceError) as past:
        schedule(db_session, admin, starts_at=now - timedelta(minutes=1), now=now)
    assert past.value.field == "starts_at"
    schedule(db_session, admin, now=now)
    with pytest.raises(MaintenanceError, match="пересекается") as clash:
        schedule(db_session, admin, starts_at=START + timedelta(minutes=20), now=now)
    assert clash.value.field == "starts_at"
    with pytest.raises(MaintenanceError) as long:
        schedule(db_session, admin, starts_at=START + timedelta(days=1), minutes=13 * 60, now=now)
    assert long.value.field == "minutes"
    moderator = make_user(role=Role.MODERATOR)
    with pytest.raises(MaintenanceError, match="только администратору"):
        schedule(db_session, moderator, kind=Kind.EMERGENCY, now=now)
    user = make_user()
    with pytest.raises(MaintenanceError):
        schedule(db_session, user, starts_at=START + timedelta(days=2), now=now)


def test_a_moderator_requests_an_admin_confirms_and_cancelling_tells_people(
    app, client, db_session, make_user, login_as, mailbox, clock
):
    clock(START - timedelta(days=2))
    moderator = login_as(Role.MODERATOR)
    local = (START + timedelta(days=1)).astimezone(service_zone()).strftime("%Y-%m-%dT%H:%M")
    made = client.post(
        "/maintenance/",
        data={
            "kind": "planned",
            "scope": "all",
            "starts_at": local,
            "minutes": "45",
            "reason": "Обновление",
            "csrf_token": csrf_token(client, "/maintenance/"),
        },
        follow_redirects=True,
    )
    assert "сохранено" in made.get_data(as_text=True)
    window = db_session.query(MaintenanceWindow).one()
    assert window.state == State.REQUESTED and window.requested_by == moderator.id
    assert window.starts_at == START + timedelta(days=1)
    assert (
        client.post(
            f"/maintenance/{window.id}/confirm",
            data={"csrf_token": csrf_token(client, "/maintenance/")},
        ).status_code
        == 403
    )

    admin = login_as(Role.ADMIN)
    token = csrf_token(client, "/maintenance/")
    client.post(f"/maintenance/{window.id}/confirm", data={"csrf_token": token})
    window = db_session.get(MaintenanceWindow, window.id)
    assert window.state == State.SCHEDULED
    clock(window.starts_at - timedelta(hours=24))
    assert tasks.maintenance_tick.call_local()["notices"] > 0
    client.post(f"/maintenance/{window.id}/cancel", data={"csrf_token": token})
    window = db_session.get(MaintenanceWindow, window.id)
    assert window.state == State.CANCELLED
    # Each of this test's people heard of the window and then of its cancellation (by address:
    # the database may hold other people, in another language, on the MariaDB leg).
    for person in (moderator, admin):
        told = [m["Subject"] for m in mailbox.messages(email_of(app, person))]
        assert len(told) == 2 and "отменено" in told[-1] and "отменено" not in told[0], told
    page = client.get("/maintenance/?state=cancelled").get_data(as_text=True)
    assert "Обновление" in page and "отменено" in page
    assert moderator.display_name in page  # who asked (and who confirmed) is in the history


def service_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Moscow")


def test_cancelling_less_than_15_minutes_ahead_is_refused(db_session, make_user):
    admin = make_user(role=Role.ADMIN)
    window = schedule(db_session, admin)
    with pytest.raises(MaintenanceError, match="15 минут"):
        service.cancel(window, START - timedelta(minutes=10))


def test_an_emergency_stops_at_once_and_a_rehearsal_stops_nothing_real(
    app, client, db_session, make_user, login_as, mailbox, clock, settings
):
    bus = app.extensions["mehhost.bus"]
    clock(START)
    admin = login_as(Role.ADMIN)
    page_file = settings.maintenance_page_dir / "maintenance.html"
    page_file.unlink(missing_ok=True)
    client.post(
        "/maintenance/",
        data={
            "kind": "test",
            "scope": "all",
            "starts_at": "2026-12-06T00:10",
            "minutes": "10",
            "reason": "Учения",
            "csrf_token": csrf_token(client, "/maintenance/"),
        },
    )
    rehearsal = db_session.query(MaintenanceWindow).one()
    clock(rehearsal.starts_at)
    assert tasks.maintenance_tick.call_local()["stopped"] == 1
    assert db_session.get(MaintenanceWindow, rehearsal.id).state == State.DOWN
    assert bus.get(lifecycle.FLAG_KEY) is None and not page_file.exists()

    now = clock(rehearsal.ends_at + timedelta(minutes=1))
    tasks.maintenance_tick.call_local()
    emergency_form = {"kind": "emergency", "scope": "all", "minutes": "20", "reason": "Атака"}
    token = csrf_token(client, "/maintenance/")
    no_factor = client.post("/maintenance/", data={**emergency_form, "csrf_token": token})
    assert "сначала включите двухфакторную защиту" in no_factor.get_data(as_text=True)
    secret = pyotp.random_base32()
    admin = db_session.get(User, admin.id)
    totp.enable(
        admin,
        app.extensions["mehhost.pii"],
        secret,
        pyotp.TOTP(secret).at(now - timedelta(minutes=5)),
        now - timedelta(minutes=5),
    )
    db_session.commit()
    wrong = client.post(
        "/maintenance/", data={**emergency_form, "totp": "000000", "csrf_token": token}
    )
    assert wrong.status_code == 422 and "Код: не подходит" in wrong.get_data(as_text=True)
    assert db_session.query(LogEntry).filter_by(event="totp_failed").count() == 1
    assert not db_session.query(MaintenanceWindow).filter_by(kind="emergency").count()
    code = pyotp.TOTP(secret).at(now)
    made = client.post("/maintenance/", data={**emergency_form, "totp": code, "csrf_token": token})
    assert made.status_code == 302
    replay = client.post(
        "/maintenance/", data={**emergency_form, "totp": code, "csrf_token": token}
    )
    assert "Код: не подходит" in replay.get_data(as_text=True)  # one code, one use
    emergency = db_session.query(MaintenanceWindow).filter_by(kind="emergency").one()
    assert emergency.state == State.DOWN and emergency.stopped_at is not None
    assert bus.get(lifecycle.FLAG_KEY)["window"] == emergency.id and page_file.exists()
    assert any("экстренное" in m["Subject"] for m in mailbox.messages())
    bus.delete(lifecycle.FLAG_KEY)


def test_the_maintenance_pages_are_for_staff_only(client, login_as):
    login_as(Role.MANAGER)
    assert client.get("/maintenance/").status_code == 403


def test_a_person_turns_maintenance_emails_off_in_the_profile(client, login_as, db_session):
    user = login_as(Role.USER)
    token = csrf_token(client, "/profile")
    client.post("/profile/maintenance-emails", data={"enabled": "0", "csrf_token": token})
    user = db_session.get(type(user), user.id)
    assert user.maintenance_emails is False
    assert user not in service.recipients(db_session)


def test_a_chat_socket_shows_the_stop_acknowledges_with_the_draft_and_closes(
    app, db_session, make_user
):
    from webapp.chat import drafts
    from webapp.chat import service as chat
    from webapp.chat.socket import CLOSE_SERVICE_RESTART, ChatSocket
    from webapp.db import utcnow

    bus = app.extensions["mehhost.bus"]
    person = make_user()
    character = factories.character(db_session)
    dialog = chat.start_dialog(db_session, person.id, character, utcnow())
    db_session.commit()
    page = FakeSocket()
    event = {"window": 7, "scope": "all", "ends_at": START.timestamp(), "rehearsal": False}
    with app.test_request_context():
        socket = ChatSocket(page, person, "device-1", dialog.id, character.id)
        socket._on_event(flag.CHANNEL, {"type": "maintenance_start", **event})
        socket.flush()
        notice_html = "".join(page.sent)
        assert "Начинаются технические работы" in notice_html
        # What the htmx ws extension sends for the notice's form, with the composer's text:
        assert 'hx-trigger="load"' in notice_html and 'hx-include="#message"' in notice_html
        socket._on_frame(
            json.dumps({"action": "maintenance_ack", "window": "7", "message": "Недописанное"})
        )
        assert flag.acknowledged(bus, 7) == 1
        assert drafts.load(bus, person.id, dialog.id) == "Недописанное"
        socket._on_event(flag.CHANNEL, {"type": "maintenance_close", **event, "rehearsal": True})
        assert page.closed_with is None  # a rehearsal closes nothing
        socket._on_event(flag.CHANNEL, {"type": "maintenance_close", **event})
    assert page.closed_with == (CLOSE_SERVICE_RESTART, "maintenance")
    drafts.save(bus, person.id, dialog.id, "")  # blank: forgotten


def test_the_stop_waits_up_to_30_s_for_the_pages_that_do_not_answer(app, db_session, make_user):
    bus = app.extensions["mehhost.bus"]
    admin = make_user(role=Role.ADMIN)
    window = schedule(db_session, admin, kind=Kind.TEST, starts_at=START + timedelta(hours=2))
    moments = iter(range(100))
    waited = lifecycle.drain_sockets(
        bus, window, expected=2, wait_s=30, clock=lambda: next(moments), sleep=lambda s: None
    )
    assert waited == 0 and next(moments) >= 31  # it looked until the 30 s were over


def test_the_stop_goes_on_as_soon_as_95_percent_acknowledged(app, db_session, make_user):
    bus = app.extensions["mehhost.bus"]
    admin = make_user(role=Role.ADMIN)
    window = schedule(
        db_session, admin, kind=Kind.TEST, starts_at=START + timedelta(hours=1), now=START
    )
    listener = bus.subscribe(flag.CHANNEL)
    answering = threading.Thread(  # 19 of 20 pages answer the notice at once
        target=lambda: (
            listener.get(timeout=5)
            and [flag.acknowledge(bus, window.id, f"s{n}") for n in range(19)]
        ),
    )
    answering.start()
    started = time.monotonic()
    assert lifecycle.drain_sockets(bus, window, expected=20, wait_s=10) == 19
    answering.join()
    listener.close()
    assert time.monotonic() - started < 1  # 19 of 20 is 95 %: no waiting for the last one


def test_enrolling_the_second_factor_with_the_qr_code(app, client, login_as, db_session):
    user = login_as(Role.ADMIN)
    page = client.get("/profile/totp").get_data(as_text=True)
    assert "<svg" in page and "Включить" in page
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    token = csrf_token(client, "/profile/totp")
    wrong = client.post("/profile/totp", data={"code": "12345", "csrf_token": token})
    assert wrong.status_code == 422 and "Код: не подходит" in wrong.get_data(as_text=True)
    right = client.post(
        "/profile/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    assert right.status_code == 302
    user = db_session.get(User, user.id)
    assert totp.enabled(user) and secret.encode() not in user.totp_secret_encrypted
    assert "Включена" in client.get("/profile").get_data(as_text=True)


def test_while_the_ai_is_stopped_messages_are_kept_and_replies_wait(
    app, client, login_as, db_session
):
    from webapp.chat.models import Message

    bus = app.extensions["mehhost.bus"]
    login_as(Role.USER)
    character = factories.character(db_session)
    token = csrf_token(client, f"/characters/{character.id}")
    dialog_url = client.post(
        f"/characters/{character.id}/dialogs", data={"csrf_token": token}
    ).headers["Location"]
    dialog_id = int(dialog_url.rsplit("/", 1)[1])
    until = datetime.now(UTC) + timedelta(minutes=30)
    bus.set(lifecycle.FLAG_KEY, {"window": 1, "scope": "ai", "ends_at": until.timestamp()})
    try:
        sent = client.post(
            f"/chat/{dialog_id}/messages",
            data={"message": "Ты тут?", "client_id": "c1", "csrf_token": token},
            follow_redirects=True,
        )
    finally:
        bus.delete(lifecycle.FLAG_KEY)
    assert "ответы персонажей приостановлены" in sent.get_data(as_text=True)
    kept = db_session.query(Message).filter_by(dialog_id=dialog_id, text="Ты тут?").one()
    assert kept.role == "user"
    assert not db_session.query(Message).filter_by(dialog_id=dialog_id, status="pending").count()


def stopped_window(app, db_session, make_user, settings) -> MaintenanceWindow:
    admin = make_user(role=Role.ADMIN)
    window = schedule(db_session, admin, starts_at=START + timedelta(hours=3), minutes=20)
    lifecycle.stop(
        db_session,
        app.extensions["mehhost.bus"],
        window,
        settings.maintenance_page_dir,
        START + timedelta(hours=3),
        expected=0,
    )
    db_session.commit()
    return window


def test_an_admin_starts_the_service_and_watches_the_steps(
    app, client, db_session, make_user, login_as, settings, worker_app
):
    window = stopped_window(app, db_session, make_user, settings)
    login_as(Role.MODERATOR)
    token = csrf_token(client, "/maintenance/")
    assert (
        client.post(f"/maintenance/{window.id}/recover", data={"csrf_token": token}).status_code
        == 403
    )
    login_as(Role.ADMIN)
    token = csrf_token(client, "/maintenance/")
    page = client.post(
        f"/maintenance/{window.id}/recover", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Сервис снова работает" in page and '<progress value="6" max="6">' in page
    assert "Узел ИИ — с предупреждением" in page  # no node in tests: a warning, not a failure
    assert 'hx-trigger="every 1s"' not in page  # finished: no more polling
    assert db_session.get(MaintenanceWindow, window.id).state == State.UP
    assert app.extensions["mehhost.bus"].get(lifecycle.FLAG_KEY) is None
    again = client.post(
        f"/maintenance/{window.id}/recover", data={"csrf_token": token}, follow_redirects=True
    )
    assert "только остановленный" in again.get_data(as_text=True)


def test_a_failed_step_stops_the_recovery_and_says_why(
    app, client, db_session, make_user, login_as, settings, worker_app
):
    from sqlalchemy import text

    window = stopped_window(app, db_session, make_user, settings)
    db_session.execute(text("UPDATE alembic_version SET version_num = 'abc123'"))
    db_session.commit()
    login_as(Role.ADMIN)
    token = csrf_token(client, "/maintenance/")
    page = client.post(
        f"/maintenance/{window.id}/recover", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Восстановление остановилось" in page and "alembic upgrade head" in page
    assert '<progress value="1" max="6">' in page
    assert db_session.get(MaintenanceWindow, window.id).state == State.DOWN


def test_an_admin_rejects_a_request_once(app, client, db_session, make_user, login_as, clock):
    clock(START - timedelta(days=2))
    moderator = make_user(role=Role.MODERATOR)
    window = schedule(db_session, moderator, starts_at=START + timedelta(days=1))
    assert window.state == State.REQUESTED
    login_as(Role.ADMIN)
    token = csrf_token(client, "/maintenance/")
    client.post(f"/maintenance/{window.id}/reject", data={"csrf_token": token})
    assert db_session.get(MaintenanceWindow, window.id).state == State.REJECTED
    again = client.post(
        f"/maintenance/{window.id}/reject", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Отклонить можно только ожидающий запрос" in again.get_data(as_text=True)


def test_a_rehearsal_banner_shows_to_the_staff_alone(
    app, client, db_session, make_user, login_as, clock
):
    admin = make_user(role=Role.ADMIN)
    schedule(db_session, admin, kind=Kind.TEST, starts_at=START, now=START - timedelta(days=1))
    clock(START - timedelta(minutes=30))
    login_as(Role.USER)
    assert "maintenance-banner" not in client.get("/").get_data(as_text=True)
    login_as(Role.MODERATOR)
    page = client.get("/").get_data(as_text=True)
    assert "maintenance-banner" in page and "Учебная тревога" in page
