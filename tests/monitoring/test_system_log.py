"""The system log category: the site's own start-ups and failed background tasks (node links:
tests/inference/test_dispatcher.py)."""

from sqlalchemy import select

from webapp.monitoring.models import LogEntry
from webapp.tasks import HUEY, _log_failure


def _entries(db_session, event):
    db_session.expire_all()
    return db_session.scalars(
        select(LogEntry).where(LogEntry.category == "system", LogEntry.event == event)
    ).all()


def test_a_start_up_is_logged(app, db_session):
    result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    (started,) = _entries(db_session, "started")
    assert '"version"' in started.detail


def test_a_failed_task_is_logged_and_the_signal_is_wired(app, db_session):
    from huey.signals import SIGNAL_ERROR

    huey = app.extensions[HUEY]
    assert _log_failure in huey._signal.receivers[SIGNAL_ERROR]  # the consumer calls it

    class Queued:
        name = "daily_report"

    _log_failure(SIGNAL_ERROR, Queued(), OSError("SMTP is down"))
    (failed,) = _entries(db_session, "task_failed")
    assert "daily_report" in failed.detail and "SMTP is down" in failed.detail
