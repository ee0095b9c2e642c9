import stat

import pytest

from config.settings import ConfigError, load_settings


def env(tmp_path, **values):
    return {"INSTANCE_PATH": str(tmp_path), **values}


def test_first_start_generates_private_secrets_and_keeps_them(tmp_path):
    first = load_settings(env(tmp_path))
    secrets_file = tmp_path / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    second = load_settings(env(tmp_path))
    assert (first.secret_key, first.jwt_signing_key, first.pii_encryption_key) == (
        second.secret_key,
        second.jwt_signing_key,
        second.pii_encryption_key,
    )
    assert len({first.secret_key, first.jwt_signing_key, first.pii_encryption_key}) == 3


def test_defaults_are_the_embedded_ones(tmp_path):
    settings = load_settings(env(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path / 'mehhost.db'}"
    assert settings.is_sqlite
    assert settings.redis_url == ""
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 8025)
    assert settings.env == "development" and not settings.production


def test_settings_env_file_is_read_and_environment_wins(tmp_path):
    (tmp_path / "settings.env").write_text(
        "# comment\nSMTP_PORT=2525\nBASE_URL='https://chat.example.ru/'\nADMIN_EMAIL=a@b.ru\n"
    )
    settings = load_settings(env(tmp_path, ADMIN_EMAIL="boss@example.ru"))
    assert settings.smtp_port == 2525
    assert settings.base_url == "https://chat.example.ru"
    assert settings.admin_email == "boss@example.ru"


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SIGNING_KEY", "PII_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_a_secret_and_names_it(tmp_path, name):
    values = {
        "SECRET_KEY": "s" * 10 + "0123456789abcdefghijklmnopqrstuv",
        "JWT_SIGNING_KEY": "j" * 10 + "0123456789abcdefghijklmnopqrstuv",
        "PII_ENCRYPTION_KEY": "A" * 43 + "=",
    }
    del values[name]
    with pytest.raises(ConfigError, match=f"^{name} is not set"):
        load_settings(env(tmp_path, MEHHOST_ENV="production", **values))
    assert not (tmp_path / "secrets.env").exists()


@pytest.mark.parametrize("weak", ["changeme", "a" * 40, "short-but-random-9f"])
def test_production_refuses_a_weak_secret(tmp_path, weak):
    with pytest.raises(ConfigError, match="^SECRET_KEY is too weak"):
        load_settings(
            env(
                tmp_path,
                MEHHOST_ENV="production",
                SECRET_KEY=weak,
                JWT_SIGNING_KEY="0123456789abcdefghijklmnopqrstuvwxyz",
                PII_ENCRYPTION_KEY="A" * 43 + "=",
            )
        )


def test_a_malformed_pii_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="^PII_ENCRYPTION_KEY"):
        load_settings(env(tmp_path, PII_ENCRYPTION_KEY="not-a-fernet-key"))


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url", "malformed"), ("postgresql://x@localhost/db", "driver 'postgresql'")],
)
def test_bad_database_url_is_named(tmp_path, url, message):
    with pytest.raises(ConfigError, match=f"^DATABASE_URL .*{message}"):
        load_settings(env(tmp_path, DATABASE_URL=url))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SMTP_PORT", "abc", "whole number"),
        ("SMTP_PORT", "70000", "between"),
        ("BCRYPT_ROUNDS", "2", "between"),
        ("SMTP_STARTTLS", "maybe", "true or false"),
        ("MEHHOST_ENV", "staging", "one of"),
    ],
)
def test_bad_values_name_their_setting(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=f"^{name} .*{message}"):
        load_settings(env(tmp_path, **{name: value}))


def test_a_broken_settings_file_line_is_reported(tmp_path):
    (tmp_path / "settings.env").write_text("SMTP_PORT 25\n")
    with pytest.raises(ConfigError, match="settings.env:1"):
        load_settings(env(tmp_path))


def test_the_task_queue_in_redis_carries_the_deployments_prefix(tmp_path):
    from webapp.tasks import make_huey

    def queue_key(prefix: str) -> str:
        env = {
            "INSTANCE_PATH": str(tmp_path),
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "REDIS_PREFIX": prefix,
        }
        return make_huey(load_settings(env)).storage.queue_key

    assert queue_key("site-a:") == "huey.redis.site-a:huey"
    assert queue_key("site-a:") != queue_key("site-b:")
