"""Registration, email confirmation through the real SMTP sink, resend rules, password reset."""

from datetime import timedelta

from sqlalchemy import select, update

from tests.conftest import csrf_token
from tests.factories import PASSWORD
from webapp.accounts.models import User
from webapp.accounts.service import find_by_email
from webapp.auth.models import LinkToken
from webapp.monitoring.models import LogEntry


def register(client, **overrides):
    data = {
        "email": "new@example.ru",
        "display_name": "Новичок",
        "password": "лунная дорожка 42",
        "consent": "y",
        "csrf_token": csrf_token(client, "/register"),
        **overrides,
    }
    return client.post("/register", data=data)


def login(client, email, password):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def age_links(db_session, seconds: int) -> None:
    """Move every link's creation back in time, as if `seconds` had passed."""
    for link in db_session.scalars(select(LinkToken)):
        link.created_at -= timedelta(seconds=seconds)
        link.expires_at -= timedelta(seconds=seconds)
    db_session.commit()


def test_whole_journey_through_the_emailed_link(client, mailbox, db_session, pii):
    response = register(client)
    assert response.headers["Location"] == "/register/check-email"
    assert "Проверьте почту" in client.get("/register/check-email").get_data(as_text=True)

    refused = login(client, "new@example.ru", "лунная дорожка 42")
    page = refused.get_data(as_text=True)
    assert "Email ещё не подтверждён" in page and 'id="resend-form"' in page

    link = mailbox.last_link("new@example.ru", "/confirm/")
    assert client.get(link).headers["Location"] == "/login"
    signin = client.get("/login").get_data(as_text=True)  # the address comes filled in
    assert 'value="new@example.ru"' in signin and "Email подтверждён" in signin
    user = find_by_email(db_session, pii, "new@example.ru")
    assert user.email_confirmed_at is not None
    assert user.consent_at is not None and user.consent_version

    assert login(client, "new@example.ru", "лунная дорожка 42").status_code == 302
    assert "Новичок" in client.get("/profile").get_data(as_text=True)
    assert client.get(link).status_code == 410  # single use


def test_every_field_problem_is_reported_at_once_in_russian(client, db_session):
    response = register(
        client, email="not-an-email", display_name=" ", password="short", consent=""
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Email: введите адрес вида", "Имя:", "Пароль: не короче 8", "Согласие:"):
        assert message in page, message
    assert db_session.scalar(select(User).where(User.display_name == " ")) is None


def test_common_password_and_password_equal_to_email_are_refused(client):
    common = register(client, password="qwerty123").get_data(as_text=True)
    assert "слишком распространённый" in common
    russian = register(client, password="йцукенгш").get_data(as_text=True)
    assert "слишком распространённый" in russian
    same = register(client, email="same@example.ru", password="same@example.ru")
    assert "не должен совпадать с email" in same.get_data(as_text=True)


def test_taken_email_is_not_revealed_but_its_owner_is_told(client, mailbox, make_user):
    make_user(email="taken@example.ru")
    response = register(client, email="taken@example.ru")
    assert response.headers["Location"] == "/register/check-email"
    assert "уже есть аккаунт" in mailbox.last_text("taken@example.ru")


def test_resend_waits_60_seconds_then_allows_five_an_hour(client, mailbox, db_session):
    register(client)
    token = csrf_token(client, "/register/check-email")

    def resend():
        return client.post(
            "/confirm/resend", data={"email": "new@example.ru", "csrf_token": token}
        ).get_data(as_text=True)

    too_soon = resend()  # answered as any other resend (it must not tell who is unconfirmed)
    assert "мы отправили новое письмо" in too_soon and 'data-countdown="' in too_soon
    assert len(mailbox.messages("new@example.ru")) == 1
    for _ in range(4):
        age_links(db_session, 61)
        assert "мы отправили новое письмо" in resend()
    assert len(mailbox.messages("new@example.ru")) == 5
    age_links(db_session, 61)
    resend()
    assert len(mailbox.messages("new@example.ru")) == 5  # capped, silently


def test_resend_for_unknown_address_looks_the_same(client, mailbox):
    token = csrf_token(client, "/register/check-email")
    page = client.post(
        "/confirm/resend", data={"email": "ghost@example.ru", "csrf_token": token}
    ).get_data(as_text=True)
    assert "мы отправили новое письмо" in page
    assert mailbox.messages() == []


def test_expired_confirmation_link_offers_a_new_one(client, mailbox, db_session):
    register(client)
    link = mailbox.last_link("new@example.ru", "/confirm/")
    db_session.execute(update(LinkToken).values(expires_at=LinkToken.created_at))
    db_session.commit()
    response = client.get(link)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "Срок действия ссылки истёк" in page and "Прислать новую ссылку" in page
    assert client.get("/confirm/not-a-real-token").status_code == 404


def test_password_reset_by_emailed_link_ends_every_session(
    client, mailbox, make_user, db_session, settings
):
    from tests.conftest import sign_in

    user = make_user(email="forgot@example.ru")
    other_device = client.application.test_client()
    sign_in(other_device, db_session, settings, user)
    assert other_device.get("/profile").status_code == 200

    token = csrf_token(client, "/reset")
    response = client.post("/reset", data={"email": "forgot@example.ru", "csrf_token": token})
    assert response.headers["Location"] == "/login"
    link = mailbox.last_link("forgot@example.ru", "/reset/")

    weak = client.post(link, data={"password": "password", "csrf_token": csrf_token(client, link)})
    assert weak.status_code == 422 and "распространённый" in weak.get_data(as_text=True)
    done = client.post(
        link, data={"password": "новый надёжный пароль", "csrf_token": csrf_token(client, link)}
    )
    assert done.headers["Location"] == "/login"
    assert other_device.get("/profile").status_code == 302
    assert login(client, "forgot@example.ru", PASSWORD).status_code == 422
    assert login(client, "forgot@example.ru", "новый надёжный пароль").status_code == 302
    assert client.get(link).status_code == 410


def test_reset_for_unknown_address_says_the_same(client, mailbox):
    token = csrf_token(client, "/reset")
    response = client.post("/reset", data={"email": "ghost@example.ru", "csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert "Если адрес зарегистрирован" in client.get("/login").get_data(as_text=True)
    assert mailbox.messages() == []


def test_registration_is_logged_without_the_address(client, mailbox, db_session):
    register(client)
    entries = db_session.scalars(select(LogEntry).where(LogEntry.event == "registered")).all()
    assert len(entries) == 1 and "new@example.ru" not in entries[0].detail
