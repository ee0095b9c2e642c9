from tests.conftest import csrf_token
from tests.factories import PASSWORD
from webapp.accounts.models import User


def post_login(client, email, password, next_url=""):
    token = csrf_token(client, "/login")
    url = f"/login?next={next_url}" if next_url else "/login"
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def test_login_with_right_password_signs_in_and_greets(client, make_user):
    user = make_user(email="Anna@Example.ru", display_name="Анна")
    response = post_login(client, "  anna@example.RU ", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Добро пожаловать, Анна!" in page
    assert client.get("/profile").status_code == 200
    assert user.id


def test_login_follows_a_local_next_but_not_a_foreign_one(client, make_user):
    make_user(email="next@example.ru")
    assert post_login(client, "next@example.ru", PASSWORD, "/profile").headers["Location"] == (
        "/profile"
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = post_login(client, "next@example.ru", PASSWORD, "https://evil.example/")
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_email_get_the_same_message(client, make_user):
    make_user(email="known@example.ru")
    wrong = post_login(client, "known@example.ru", "wrong password")
    unknown = post_login(client, "nobody@example.ru", "wrong password")
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Неверный email или пароль" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302


def test_empty_fields_are_named_in_russian(client):
    response = post_login(client, "", "")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Email: введите адрес" in page and "Пароль: введите пароль" in page


def test_blocked_account_cannot_sign_in(client, make_user, db_session):
    user = make_user(email="blocked@example.ru")
    user.is_blocked = True
    db_session.commit()
    response = post_login(client, "blocked@example.ru", PASSWORD)
    assert "Аккаунт заблокирован" in response.get_data(as_text=True)


def test_a_user_blocked_while_signed_in_is_signed_out(client, login_as, db_session):
    user = login_as("user")
    assert client.get("/profile").status_code == 200
    db_session.get(User, user.id).is_blocked = True
    db_session.commit()
    assert client.get("/profile").status_code == 302


def test_logout_needs_post_with_csrf(client, login_as):
    login_as("user")
    assert client.post("/logout").status_code == 400
    assert client.get("/profile").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.headers["Location"] == "/login"
    assert client.get("/profile").status_code == 302


def test_signed_in_visitor_of_login_page_goes_to_catalogue(client, login_as):
    login_as("user")
    assert client.get("/login").headers["Location"] == "/"


def test_login_attempts_are_rate_limited_per_ip(client):
    token = csrf_token(client, "/login")
    statuses = [
        client.post(
            "/login", data={"email": "x@y.ru", "password": "p", "csrf_token": token}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


def test_profile_shows_decrypted_email_which_is_encrypted_at_rest(client, login_as, db_session):
    user = login_as("user", email="secret@example.ru")
    assert b"secret@example.ru" not in user.email_encrypted
    assert "secret@example.ru" in client.get("/profile").get_data(as_text=True)
