"""SQLAlchemy 2 plumbing: the declarative Base, shared column types, the Database."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, Text, create_engine, event, text
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

from config.settings import ConfigError, Settings
from webapp.bus import BusUnavailable

# Stable constraint names keep Alembic batch migrations on SQLite and ALTERs on MariaDB in step.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Text that may run past 64 KB: an imported card's fields (50,000 characters, up to 4 bytes each
# in UTF-8) and the diffs of their versions. TEXT on MariaDB stops at 65,535 bytes.
LongText = Text().with_variant(MEDIUMTEXT(), "mysql").with_variant(MEDIUMTEXT(), "mariadb")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (both engines agree on that) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class PreciseUTCDateTime(UTCDateTime):
    """UTCDateTime to the microsecond on MariaDB too (whose DATETIME keeps whole seconds by
    default): for rows whose order in time matters within a second (the job queue)."""

    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-backend options we rely on (utf8mb4, SQLite FKs and savepoints)."""
    if url.startswith(("mysql", "mariadb")):
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_recycle=3600,
            # An unreachable database answers within seconds (pages say 503), not minutes.
            connect_args={"charset": "utf8mb4", "connect_timeout": 2},
            **kwargs,
        )
    else:
        if ":memory:" not in url and url != "sqlite://":
            # Under gevent hundreds of greenlets read at once, and WAL lets them: a reader must
            # never wait for a pooled connection behind writers that queue for the write lock.
            kwargs = {"pool_size": 32, "max_overflow": -1, **kwargs}
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _sqlite_pragmas(engine)
    return engine


SQLITE_LOCK_WAIT = 10.0  # seconds a transaction waits for SQLite's write lock


def _sqlite_pragmas(engine: Engine) -> None:
    """Foreign keys, WAL, and a BEGIN that waits for the write lock without blocking gevent.

    pysqlite's own transaction handling breaks SAVEPOINT, so SQLAlchemy emits BEGIN itself (the
    recipe from SQLAlchemy's SQLite docs). It is BEGIN IMMEDIATE: a deferred transaction that
    reads and then writes after another writer committed fails at once ("database is locked").
    Waiting for the lock is done here with time.sleep (a cooperative yield under gevent), never
    with SQLite's busy_timeout: that would stall the whole gevent worker while the greenlet that
    holds the lock waits for its turn to run. Code must still not hold a transaction open across
    long waits (a WebSocket receive, say): end it first.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # 0: SQLite must never wait for a lock itself (a C-level wait stalls every greenlet of
        # the process); _begin below waits for the write lock cooperatively instead.
        cursor.execute("PRAGMA busy_timeout=0")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL stays consistent after a crash and skips an fsync per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Writers of this process queue on a lock that wakes the next one the moment it is free;
    # the polling below is then only for other processes (the Huey worker, CLI commands).
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get("read_only"):
            # Readers never wait in WAL mode: a plain deferred transaction, no queueing.
            connection.connection.driver_connection.execute("BEGIN")
            return
        if not writer.acquire(timeout=SQLITE_LOCK_WAIT):
            raise sqlite3.OperationalError("database is locked (waited for this process)")
        connection.info["sqlite_writer"] = True
        driver = connection.connection.driver_connection
        deadline = time.monotonic() + SQLITE_LOCK_WAIT
        pause = 0.002
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    _release(connection)
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _release(connection: Any) -> None:
        if connection.info.pop("sqlite_writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        # A connection given back mid-transaction (an error path) must not keep the lock.
        if record.info.pop("sqlite_writer", False):
            writer.release()


class Database:
    """The engine plus a request-scoped session; tests rebind it to one rolled-back connection."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False))

    def init(self, settings: Settings) -> None:
        self.engine = make_engine(settings.database_url)
        self.session.configure(bind=self.engine)

    def bind(self, bind: Any, **options: Any) -> None:
        self.session.remove()
        self.session.configure(bind=bind, **options)

    def read_only(self) -> None:
        """Declare the request-scoped session's next transaction read-only (before its first
        query): on SQLite it then does not queue for the write lock. Once a transaction has
        begun it stays what it is, and this does nothing."""
        if not self.session().in_transaction():
            self.session.connection(execution_options={"read_only": True})

    def committing(self) -> bool:
        """True while the request-scoped session runs its after-commit actions."""
        return self.session.registry.has() and running_after_commit(self.session())

    def end_session(self) -> None:
        """End the request-scoped session, unless it is running its after-commit actions: an
        app context popped inside them (a task run inline, in tests) leaves it to its owner."""
        if not self.committing():
            self.session.remove()

    def new_session(self) -> Session:
        """A session outside the request scope, for workers and CLI commands."""
        return self.session.session_factory()

    def check(self) -> None:
        """Fail with a message naming DATABASE_URL when the database cannot be reached."""
        if self.engine is None:
            raise RuntimeError("Database.init() was not called")
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                if connection.dialect.name == "mysql":
                    charset = connection.execute(text("SELECT @@character_set_database")).scalar()
                    if charset != "utf8mb4":
                        raise ConfigError(
                            f"DATABASE_URL: the database uses {charset}; create it with "
                            "CHARACTER SET utf8mb4"
                        )
        except SQLAlchemyError as exc:
            detail = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
            raise ConfigError(f"DATABASE_URL: cannot reach the database ({detail})") from None


_ON_COMMIT = "on_commit"
_COMMITTING = "on_commit_running"


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed (never if it rolls back).

    For side effects others react to at once (bus events, queued jobs): whoever reacts must find
    the rows in the database.
    """
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, too, ends a transaction and forgets the action
    session.info.setdefault(_ON_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # The transaction is committed: a failing side effect is logged, never raised into
    # commit(), whose caller would otherwise treat stored data as lost. Redis being away is the
    # expected case (the data is stored; devices catch up on their next hello): one line.
    actions = session.info.pop(_ON_COMMIT, [])
    session.info[_COMMITTING] = True
    try:
        for action in actions:
            try:
                action()
            except BusUnavailable as exc:
                logging.getLogger(__name__).warning("after commit: bus unavailable: %s", exc)
            except Exception:
                logging.getLogger(__name__).exception("after-commit action failed")
    finally:
        session.info.pop(_COMMITTING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    # What was to follow a commit never follows one that did not happen (nor a later one).
    if previous_transaction.parent is None:
        session.info.pop(_ON_COMMIT, None)


def running_after_commit(session: Session) -> bool:
    """True while the session runs its after-commit actions (it can emit no SQL then)."""
    return bool(session.info.get(_COMMITTING))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)
