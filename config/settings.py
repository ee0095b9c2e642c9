"""One Settings object, read once from the environment and instance/*.env.

Precedence (last wins): built-in defaults, instance/settings.env, instance/secrets.env, the process
environment. Outside production the three secrets are generated into instance/secrets.env (mode 600)
on first start; production refuses to start when one is missing or weak and names it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_NAMES = ("SECRET_KEY", "JWT_SIGNING_KEY", "PII_ENCRYPTION_KEY")
ENVIRONMENTS = ("development", "production", "test")
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "mysql+pymysql", "mariadb+pymysql")
WEAK_SECRETS = {"changeme", "secret", "password", "dev", "test", "default", "mehhost"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message starts with the setting's name."""


@dataclass(frozen=True)
class Settings:
    env: str
    instance_path: Path
    secret_key: str
    jwt_signing_key: str
    pii_encryption_key: str
    database_url: str
    redis_url: str
    redis_prefix: str  # every bus key and channel starts with it
    base_url: str
    admin_email: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_starttls: bool
    mail_from: str
    mail_sink_dir: Path
    bcrypt_rounds: int
    lockout_attempts: int
    lockout_minutes: int
    access_token_minutes: int
    refresh_token_days: int
    session_inactive_days: int
    max_devices: int
    ratelimit_default: str
    login_rate: str
    ratelimit_enabled: bool
    huey_sqlite_path: Path
    telegram_base_url: str
    sms_base_url: str
    monitor_collect: bool
    max_content_length: int
    log_level: str
    request_log: Path | None  # our JSON request log (REQUEST_LOG=off for none)
    access_logs: tuple[Path, ...]  # what the traffic watch reads: ours and nginx's
    security_log: Path | None  # security events as text lines, for fail2ban (off for none)
    maintenance_page_dir: Path  # where nginx serves maintenance.html from

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def database(self) -> URL:
        return make_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.database.get_backend_name() == "sqlite"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; skip blanks and # comments, drop quotes around values."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path.name}:{number}: expected KEY=VALUE, got {raw!r}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _generate_secrets(path: Path, missing: list[str]) -> dict[str, str]:
    """Write freshly generated secrets next to existing ones; safe when processes start together."""
    existing = read_env_file(path)
    new = {name: _new_secret(name) for name in missing if name not in existing}
    if not new:
        return existing
    merged = {**existing, **new}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Generated on first start. Keep private; never commit.\n")
        handle.writelines(f"{name}={value}\n" for name, value in merged.items())
    os.chmod(tmp, 0o600)
    if existing:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # atomic create: a concurrent first start keeps the winner's keys
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return read_env_file(path)


def _new_secret(name: str) -> str:
    if name == "PII_ENCRYPTION_KEY":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def _check_secret(name: str, value: str) -> None:
    if not value:
        raise ConfigError(f"{name} is not set")
    if name == "PII_ENCRYPTION_KEY":
        try:
            if len(base64.urlsafe_b64decode(value.encode())) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            raise ConfigError(f"{name} must be 32 bytes in url-safe base64") from None
        return
    if len(value) < MIN_SECRET_LENGTH or value.lower() in WEAK_SECRETS or len(set(value)) < 8:
        raise ConfigError(f"{name} is too weak: use at least {MIN_SECRET_LENGTH} random characters")


def _check_database_url(value: str) -> None:
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is malformed: {exc}") from None
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"DATABASE_URL uses driver {url.drivername!r}; "
            f"supported: {', '.join(SUPPORTED_DRIVERS)}"
        )


def _int(values: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = values.get(name, "")
    if raw == "":
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _bool(values: dict[str, str], name: str, default: bool) -> bool:
    raw = values.get(name, "").lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _optional_path(raw: str) -> Path | None:
    return None if raw.strip().lower() in ("off", "none", "-") else Path(raw.strip())


def _paths(values: dict[str, str], name: str, default: tuple[Path, ...]) -> tuple[Path, ...]:
    """A comma-separated list of files; each must be an absolute path."""
    raw = values.get(name, "")
    if not raw.strip():
        return default
    paths = tuple(Path(part.strip()) for part in raw.split(",") if part.strip())
    for path in paths:
        if not path.is_absolute():
            raise ConfigError(f"{name}: {str(path)!r} must be an absolute path")
    return paths


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read, validate and return the settings; raise ConfigError naming the first bad setting."""
    environ = dict(os.environ if environ is None else environ)
    instance = Path(environ.get("INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()
    values = {**read_env_file(instance / "settings.env")}
    env = environ.get("MEHHOST_ENV") or values.get("MEHHOST_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"MEHHOST_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")

    secrets_file = instance / "secrets.env"
    values.update(read_env_file(secrets_file))
    values.update(environ)
    missing = [name for name in SECRET_NAMES if not values.get(name)]
    if missing and env != "production":
        generated = _generate_secrets(secrets_file, missing)
        values = {**values, **generated, **environ}
    for name in SECRET_NAMES:
        _check_secret(name, values.get(name, ""))

    database_url = values.get("DATABASE_URL") or f"sqlite:///{instance / 'mehhost.db'}"
    _check_database_url(database_url)
    production = env == "production"
    request_log = _optional_path(
        values.get("REQUEST_LOG") or str(instance / "logs" / "requests.log")
    )
    return Settings(
        env=env,
        instance_path=instance,
        secret_key=values["SECRET_KEY"],
        jwt_signing_key=values["JWT_SIGNING_KEY"],
        pii_encryption_key=values["PII_ENCRYPTION_KEY"],
        database_url=database_url,
        redis_url=values.get("REDIS_URL", ""),
        redis_prefix=values.get("REDIS_PREFIX") or "mehhost:",
        base_url=values.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        admin_email=values.get("ADMIN_EMAIL", "admin@mehhost.local"),
        smtp_host=values.get("SMTP_HOST", "127.0.0.1"),
        smtp_port=_int(values, "SMTP_PORT", 8025, 1, 65535),
        smtp_user=values.get("SMTP_USER", ""),
        smtp_password=values.get("SMTP_PASSWORD", ""),
        smtp_starttls=_bool(values, "SMTP_STARTTLS", production),
        mail_from=values.get("MAIL_FROM", "mehhost chat <noreply@mehhost.local>"),
        mail_sink_dir=Path(values.get("MAIL_SINK_DIR") or instance / "mail"),
        bcrypt_rounds=_int(values, "BCRYPT_ROUNDS", 12, 4, 16),
        lockout_attempts=_int(values, "LOCKOUT_ATTEMPTS", 3, 1, 100),
        lockout_minutes=_int(values, "LOCKOUT_MINUTES", 15, 1, 24 * 60),
        access_token_minutes=_int(values, "ACCESS_TOKEN_MINUTES", 15, 1, 24 * 60),
        refresh_token_days=_int(values, "REFRESH_TOKEN_DAYS", 30, 1, 365),
        session_inactive_days=_int(values, "SESSION_INACTIVE_DAYS", 30, 1, 365),
        max_devices=_int(values, "MAX_DEVICES", 5, 1, 50),
        ratelimit_default=values.get("RATELIMIT_DEFAULT", "600 per minute"),
        login_rate=values.get("LOGIN_RATE", "10 per minute"),
        ratelimit_enabled=_bool(values, "RATELIMIT_ENABLED", True),
        huey_sqlite_path=Path(values.get("HUEY_SQLITE_PATH") or instance / "huey.db"),
        telegram_base_url=values.get("TELEGRAM_BASE_URL", "https://api.telegram.org").rstrip("/"),
        sms_base_url=values.get("SMS_BASE_URL", "").rstrip("/"),
        monitor_collect=_bool(values, "MONITOR_COLLECT", env != "test"),
        max_content_length=_int(values, "MAX_CONTENT_LENGTH", 2_621_440, 1024, 1 << 30),
        log_level=values.get("LOG_LEVEL", "INFO").upper(),
        request_log=request_log,
        access_logs=_paths(values, "ACCESS_LOGS", (request_log,) if request_log else ()),
        maintenance_page_dir=Path(values.get("MAINTENANCE_PAGE_DIR") or instance / "maintenance"),
        security_log=_optional_path(
            values.get("SECURITY_LOG") or str(instance / "logs" / "security.log")
        ),
    )
