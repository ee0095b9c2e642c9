"""Fixtures: the app on each database engine, a rolled-back session per test, clients, login_as.

The whole suite runs on SQLite and, when MARIADB_URL is set, again on MariaDB (the `engine`
fixture is parametrised). The schema is always built by Alembic, never by create_all.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

# Settings are read from the environment (load_settings, when the app is created): point them at a
# throwaway instance folder.
_INSTANCE = Path(tempfile.mkdtemp(prefix="mehhost-test-"))
# REDIS_URL given to the test run is kept for the MariaDB leg (production-like: MariaDB + Redis)
# and the Redis contract tests; the SQLite leg runs on the embedded defaults.
TEST_REDIS_URL = os.environ.get("REDIS_URL", "")
# Bus keys of this run live under their own prefix: ids restart with every fresh test database,
# and a key left by an earlier run (a claim, a draft) must not meet a new row with the same id.
_REDIS_PREFIX = f"mehhost-test-{os.getpid()}-{int(time.time())}:"
os.environ.update(
    INSTANCE_PATH=str(_INSTANCE),
    MEHHOST_ENV="test",
    BCRYPT_ROUNDS="4",
    REDIS_URL="",
    REDIS_PREFIX=_REDIS_PREFIX,
)

import pytest  # noqa: E402
from sqlalchemy import event  # noqa: E402

from config.settings import load_settings  # noqa: E402
from tests import factories  # noqa: E402
from tests.schema import reset_schema  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.accounts.models import Role  # noqa: E402
from webapp.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE  # noqa: E402
from webapp.auth.sessions import start_session  # noqa: E402
from webapp.db import make_engine, utcnow  # noqa: E402
from webapp.extensions import db, limiter  # noqa: E402

MARIADB_URL = os.environ.get("MARIADB_URL", "")
# Fixtures shared by several test packages (the alert channels pointed at local fakes).
pytest_plugins = ["tests.alerting"]


@pytest.fixture(scope="session", params=["sqlite", "mariadb"])
def database_url(request) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{_INSTANCE / 'test.db'}"
    if not MARIADB_URL:
        pytest.skip("MARIADB_URL is not set")
    return MARIADB_URL


@pytest.fixture(scope="session", autouse=True)
def _forget_this_runs_redis_keys():
    """At the end, delete the keys this run left under its prefix."""
    yield
    if TEST_REDIS_URL:
        import redis

        client = redis.Redis.from_url(TEST_REDIS_URL)
        keys = list(client.scan_iter(match=_REDIS_PREFIX + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    reset_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def settings(database_url, engine):
    redis_url = TEST_REDIS_URL if database_url == MARIADB_URL else ""
    return load_settings({**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url})


@pytest.fixture(scope="session")
def app(settings):
    return create_app(settings)


@pytest.fixture(autouse=True)
def db_session(request) -> Iterator:
    """Each test runs inside one transaction that is rolled back; commits become savepoints.

    Tests that use neither the app nor the database (pure unit tests) get None and run once.
    """
    if "app" not in request.fixturenames:
        yield None
        return
    app = request.getfixturevalue("app")
    engine = request.getfixturevalue("engine")
    connection = engine.connect()
    transaction = connection.begin()
    # Another test's create_app may have pointed the process-wide engine elsewhere (backups and
    # CLI commands use it directly).
    db.engine = engine
    db.bind(connection, join_transaction_mode="create_savepoint")
    with app.app_context():
        limiter.reset()
    # No app context stays pushed: each request must get its own `g`, exactly as in production.
    yield db.session
    db.session.remove()
    transaction.rollback()
    connection.close()
    db.bind(engine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def pii(app):
    return app.extensions["mehhost.pii"]


@pytest.fixture
def make_user(app, db_session, pii):
    def make(**kwargs):
        return factories.user(db_session, pii, **kwargs)

    return make


def sign_in(client, db_session, settings, user, device: str = "pytest"):
    """Give `client` the cookies of a fresh device session of `user`; return the session."""
    device_session, tokens = start_session(
        db_session, settings, user, device=device, ip="127.0.0.1", now=utcnow()
    )
    db_session.commit()
    client.set_cookie(ACCESS_COOKIE, tokens.access)
    client.set_cookie(REFRESH_COOKIE, tokens.refresh)
    return device_session


@pytest.fixture
def login_as(client, make_user, db_session, settings):
    """login_as("admin") -> the user, with `client` signed in as them on a new device session."""

    def login(role: str | Role = Role.USER, **kwargs):
        user = make_user(role=Role(role), **kwargs)
        sign_in(client, db_session, settings, user)
        return user

    return login


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page served to this client (its session holds the matching secret)."""
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


@pytest.fixture
def count_queries(engine):
    """with count_queries() as counter: ...; counter.count is the number of SQL statements run."""

    class Counter:
        def __init__(self) -> None:
            self.count = 0
            self.statements: list[str] = []

    @contextmanager
    def counting():
        counter = Counter()

        def _count(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.count += 1
                counter.statements.append(statement)

        event.listen(engine, "before_cursor_execute", _count)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", _count)

    return counting


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the dev SMTP sink received, parsed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self, to: str | None = None) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.directory.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or message["To"] == to:
                found.append(message)
        return found

    def last_text(self, to: str) -> str:
        messages = self.messages(to)
        assert messages, f"no email to {to}"
        return messages[-1].get_body(("plain",)).get_content()

    def last_link(self, to: str, path_prefix: str) -> str:
        """The path of the last link to `path_prefix` emailed to `to`."""
        links = re.findall(r"https?://[^/\s]+(/\S+)", self.last_text(to))
        matching = [link for link in links if link.startswith(path_prefix)]
        assert matching, f"no {path_prefix} link in the email to {to}"
        return matching[-1]


@pytest.fixture
def mailbox(tmp_path, worker_app):
    """A real SMTP sink on a free port; the worker's send_email task delivers to it."""
    from webapp.notify.sink import start_sink

    port = free_port()
    controller = start_sink(tmp_path / "mail", port=port)
    with patched_settings(worker_app, smtp_port=port):
        yield Mailbox(tmp_path / "mail")
    controller.stop()


@contextmanager
def patched_settings(app, **changes):
    """Change some of the app's Settings (the environment's and the effective ones) for a while."""
    keys = ("mehhost.base_settings", "mehhost.settings")
    saved = {key: app.extensions[key] for key in keys}
    for key, value in saved.items():
        app.extensions[key] = replace(value, **changes)
    try:
        yield
    finally:
        app.extensions.update(saved)


@pytest.fixture
def worker_app(app):
    """The worker's tasks run against the test's app (and its rolled-back session)."""
    from webapp import tasks

    before = tasks.bound_app()
    tasks.use_app(app)
    yield app
    tasks.use_app(before)


# What makes a test an integration test: the app and its database, or the real processes.
_INTEGRATION_FIXTURES = {"app", "engine", "database_url", "db_session", "client", "worker_app"}
_PROCESS_FOLDERS = {"faults", "e2e", "ops", "security", "device"}


def pytest_collection_modifyitems(items) -> None:
    """Tests live by domain (tests/<domain>/); each is marked `unit` or `integration` so either
    kind runs alone (`pytest -m unit`: no database, no server)."""
    for item in items:
        folder = Path(item.fspath).parent.name
        module = getattr(item, "module", None)
        live = module is not None and any(
            name in vars(module) for name in ("live_server", "LiveServer", "tiny_node")
        )
        # db_session is autouse: it means "database" only where the app is asked for too.
        used = set(getattr(item, "fixturenames", ())) - {"db_session"}
        integration = folder in _PROCESS_FOLDERS or live or bool(used & _INTEGRATION_FIXTURES)
        item.add_marker("integration" if integration else "unit")
