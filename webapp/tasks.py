"""Background work, free of any domain: the Huey queue, the app tasks run in, after-commit queueing.

Each domain declares its tasks in its own `tasks.py` with `@task(...)` or `@periodic_task(...)`
(the equivalent of Celery's `shared_task`). The app factory calls `init_app`, which builds the
Huey instance from the app's Settings (SqliteHuey under instance/ by default, RedisHuey when
REDIS_URL is set, immediate in tests) and registers every declared task with it. The consumer's
entry, `workers/tasks.py`, creates the app and hands Huey that instance: nothing here reads
settings at import or imports the app factory.

A task's body opens `service_scope()`: the app context, its DB session and bus, committed on
success. Web code queues work that must see its rows with `after_commit(session, task, ...)`,
the one habit for the whole code base.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey
from huey.signals import SIGNAL_ERROR
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.bus import Bus
from webapp.db import on_commit
from webapp.extensions import db, get_bus
from webapp.siteconfig import refresh

HUEY = "mehhost.huey"
WRAPPERS = "mehhost.tasks"
# Messages queued before the tasks moved to their domains name them `workers.tasks.<name>`; the
# consumer keeps answering to those names so an upgrade with a full queue loses nothing.
LEGACY_MODULE = "workers.tasks"

_declared: dict[str, Task] = {}
_app: Flask | None = None


def make_huey(settings: Settings) -> Huey:
    immediate = settings.env == "test"
    if settings.redis_url:
        # The queue's keys carry REDIS_PREFIX: deployments sharing one Redis never share tasks.
        # Polled, not a blocking pop: Redis hands a blocked BRPOP the next message even while
        # that consumer hangs (SIGSTOP, swapped out), and it is lost when the consumer dies.
        return RedisHuey(
            f"{settings.redis_prefix}huey",
            url=settings.redis_url,
            immediate=immediate,
            clean_name=False,
            blocking=False,
        )
    settings.huey_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("mehhost", filename=str(settings.huey_sqlite_path), immediate=immediate)


class Task:
    """A declared task. Called, it queues (Huey's TaskWrapper of the bound app does the work);
    `call_local` runs it here; other attributes are the wrapper's (`schedule`, `revoke`, …)."""

    def __init__(self, func: Callable, periodic: Any, options: dict[str, Any]) -> None:
        self.func, self.periodic, self.options = func, periodic, options
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def register(self, huey: Huey) -> Any:
        if self.periodic is not None:
            wrapper = huey.periodic_task(self.periodic, **self.options)(self.func)
        else:
            wrapper = huey.task(**self.options)(self.func)
        huey.task(**self.options)(_legacy_alias(self.func))
        return wrapper

    def bound(self) -> Any:
        if _app is None:
            raise RuntimeError(f"task {self.name}: no app bound (webapp.tasks.init_app)")
        return _app.extensions[WRAPPERS][self.name]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.bound()(*args, **kwargs)

    def call_local(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe these: not the wrapper's
            raise AttributeError(name)
        return getattr(self.bound(), name)


def _legacy_alias(func: Callable) -> Callable:
    def run(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    run.__name__ = run.__qualname__ = func.__name__
    run.__module__ = LEGACY_MODULE
    return run


def _declare(func: Callable, periodic: Any, options: dict[str, Any]) -> Task:
    if func.__name__ in _declared and _declared[func.__name__].func is not func:
        raise ValueError(f"two tasks named {func.__name__}")
    declared = _declared[func.__name__] = Task(func, periodic, options)
    return declared


def declared() -> dict[str, Task]:
    """Every task the imported domains declared, by name."""
    return dict(_declared)


def task(**options: Any) -> Callable[[Callable], Task]:
    """`@task(retries=5, retry_delay=30)`: a task queued on demand."""
    return lambda func: _declare(func, None, options)


def periodic_task(
    schedule: Callable[[datetime], bool], **options: Any
) -> Callable[[Callable], Task]:
    """`@periodic_task(crontab(minute="*"))`: run by the consumer on its schedule."""
    return lambda func: _declare(func, schedule, options)


def init_app(app: Flask, settings: Settings) -> Huey:
    """Build the app's Huey, register every declared task with it, and run tasks in this app."""
    huey = make_huey(settings)
    app.extensions[HUEY] = huey
    app.extensions[WRAPPERS] = {name: t.register(huey) for name, t in declared().items()}
    huey.signal(SIGNAL_ERROR)(_log_failure)
    use_app(app)
    return huey


def _log_failure(signal: str, queued: Any, exc: Exception | None = None) -> None:
    """A task that failed (it may be tried again) goes into the system log."""
    from webapp.monitoring import logs

    try:
        with service_scope() as (session, _bus):
            logs.system(session, "task_failed", task=queued.name, error=repr(exc)[:200])
    except Exception:  # the log must never be why a task's failure goes unseen
        logging.getLogger(__name__).exception("task failure not logged")


def use_app(app: Flask | None) -> None:
    """Tasks run in `app` (init_app's app by default; a test may hand over its own)."""
    global _app
    _app = app


def bound_app() -> Flask | None:
    return _app


@contextmanager
def service_scope() -> Iterator[tuple[Session, Bus]]:
    """(DB session, bus) inside the app context; commits on success, rolls back on error."""
    if _app is None:
        raise RuntimeError("no app bound (webapp.tasks.init_app)")
    refresh(_app)  # an admin may have changed SMTP or security settings meanwhile
    with _app.app_context():
        # A task run inline (Huey's immediate mode, in tests) from another session's
        # after-commit actions gets a session of its own: that one can emit no SQL now.
        nested = db.committing()
        session = db.new_session() if nested else db.session
        try:
            yield session, get_bus()
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            if nested:
                session.close()
            else:
                db.session.remove()


def after_commit(session: Session, queued: Task, *args: Any, **kwargs: Any) -> None:
    """Queue `queued(*args, **kwargs)` once the session's transaction commits (never if it rolls
    back): the worker then finds the rows the task is about."""
    on_commit(session, lambda: queued(*args, **kwargs))


def daily_at(
    hour: int, minute: int, zone: str = "Europe/Moscow", weekday: int | None = None
) -> Callable[[datetime], bool]:
    """A Huey schedule: once a day at hour:minute local time in `zone` (Huey passes UTC); with
    `weekday` (0 Monday … 6 Sunday, as date.weekday()) once a week on that local day."""
    tz = ZoneInfo(zone)

    def due(moment: datetime) -> bool:
        local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
        on_day = weekday is None or local.weekday() == weekday
        return on_day and local.hour == hour and local.minute == minute

    return due
