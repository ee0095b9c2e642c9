import stat

from sqlalchemy import func, select

from webapp.accounts.models import Role, User
from webapp.accounts.passwords import check_password
from webapp.accounts.service import find_by_email
from webapp.characters.models import Character


def test_bootstrap_creates_one_admin_with_a_private_credentials_file(
    app, settings, pii, db_session
):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    credentials = settings.instance_path / "initial-admin.txt"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    lines = dict(line.split(": ", 1) for line in credentials.read_text().splitlines())
    admin = find_by_email(db_session, pii, lines["email"])
    assert admin.role == Role.ADMIN and admin.email_confirmed_at is not None
    assert check_password(lines["password"], admin.password_hash)
    assert db_session.scalar(select(func.count()).select_from(Character)) == 4  # 3 ru + 1 en

    again = runner.invoke(args=["bootstrap"])
    assert "Demo characters created: 0" in again.output
    admins = db_session.scalar(select(func.count()).where(User.role == Role.ADMIN))
    assert admins == 1


def test_seeded_admin_can_sign_in(app, client, settings, db_session):
    from tests.conftest import csrf_token

    app.test_cli_runner().invoke(args=["bootstrap"])
    lines = dict(
        line.split(": ", 1)
        for line in (settings.instance_path / "initial-admin.txt").read_text().splitlines()
    )
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": lines["email"], "password": lines["password"], "csrf_token": token}
    )
    assert response.status_code == 302
    assert "Администратор" in client.get("/profile").get_data(as_text=True)


def test_create_admin_prints_the_password_once(app, pii, db_session):
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", "Boss@Example.ru"])
    assert result.exit_code == 0, result.output
    password = result.output.rsplit("Password: ", 1)[1].strip()
    admin = find_by_email(db_session, pii, "boss@example.ru")
    assert admin.role == Role.ADMIN and check_password(password, admin.password_hash)


def test_create_admin_refuses_a_taken_or_bad_email(app, make_user):
    make_user(email="taken@example.ru")
    runner = app.test_cli_runner()
    taken = runner.invoke(args=["create-admin", "--email", "taken@example.ru"])
    assert taken.exit_code != 0 and "уже зарегистрирован" in taken.output
    bad = runner.invoke(args=["create-admin", "--email", "not-an-email"])
    assert bad.exit_code != 0 and "Email:" in bad.output


def test_seed_demo_is_idempotent(app, db_session):
    runner = app.test_cli_runner()
    assert "created: 4" in runner.invoke(args=["seed-demo"]).output
    assert "created: 0" in runner.invoke(args=["seed-demo"]).output
