"""Thresholds fire and clear, notices reach fake SMTP/Telegram/SMS servers, dedup, escalation,
acknowledgement, retries and the daily report, with an injected clock (never sleeps)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.alerting import deliveries, fresh
from tests.conftest import csrf_token
from webapp.monitoring import alerts, evaluation, samples, tasks
from webapp.monitoring.catalogue import PC
from webapp.monitoring.delivery import notifier_for
from webapp.monitoring.models import Alert, AlertDelivery, AlertState, DeliveryStatus, Severity
from webapp.tasks import daily_at

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def cpu(app, db_session, value: float, now: datetime) -> list[Alert]:
    """A PC sample at `now`, one evaluation, and the worker sending what is due."""
    bus = app.extensions["mehhost.bus"]
    samples.ingest(bus, PC, now.timestamp(), {"cpu_percent": value})
    with app.app_context():
        changed = evaluation.evaluate(db_session, bus, notifier_for(app, db_session), now)
        db_session.commit()
    tasks.deliver_alerts.call_local()
    return changed


def test_critical_cpu_reaches_every_channel_and_clears_with_hysteresis(app, db_session, channels):
    telegram, sms, mailbox = channels
    [alert] = cpu(app, db_session, 97, T0)
    assert (alert.severity, alert.state) == (Severity.HIGH, AlertState.FIRING)
    assert "CPU" in alert.title and "95" in alert.title
    text = mailbox.last_text("ops@example.ru")
    assert "/alerts/ack/" in text and "высокая" in text
    [bot] = telegram.requests
    assert bot["path"] == "/botT0KEN/sendMessage" and bot["json"]["chat_id"] == "42"
    assert "CPU" in bot["json"]["text"]
    [message] = sms.requests
    assert message["json"]["to"] == "+79990001122"
    assert message["headers"]["Authorization"] == "Bearer k3y"
    assert all(d.status == DeliveryStatus.SENT for d in deliveries(db_session))

    assert cpu(app, db_session, 93, T0 + timedelta(seconds=5)) == []  # within the hysteresis
    cpu(app, db_session, 89, T0 + timedelta(seconds=10))  # down to a warning: nobody is paged
    assert fresh(db_session, alert).severity == Severity.LOW
    assert len(deliveries(db_session, "fired")) == 3
    cpu(app, db_session, 70, T0 + timedelta(seconds=15))
    assert fresh(db_session, alert).state == AlertState.RESOLVED
    assert len(deliveries(db_session, "resolved")) == 3
    assert "Решено" in telegram.requests[-1]["json"]["text"]


def test_the_same_alert_is_not_sent_twice_within_five_minutes(app, db_session, channels):
    cpu(app, db_session, 97, T0)
    cpu(app, db_session, 50, T0 + timedelta(minutes=1))
    [again] = cpu(app, db_session, 97, T0 + timedelta(minutes=3))  # reopened quietly
    assert len(deliveries(db_session, "fired")) == 3
    assert db_session.scalar(select(Alert.id).where(Alert.id != again.id)) is None
    cpu(app, db_session, 50, T0 + timedelta(minutes=4))
    cpu(app, db_session, 97, T0 + timedelta(minutes=10))  # past the window: a new episode
    assert len(deliveries(db_session, "fired")) == 6
    assert len(db_session.scalars(select(Alert)).all()) == 2


def test_unacknowledged_critical_alerts_escalate_every_30_minutes(
    app, db_session, channels, client
):
    _telegram, _sms, mailbox = channels
    [alert] = cpu(app, db_session, 99, T0)
    with app.app_context():
        notifier = notifier_for(app, db_session)
        assert alerts.escalate_due(db_session, notifier, T0 + timedelta(minutes=29)) == []
        [escalated] = alerts.escalate_due(db_session, notifier, T0 + timedelta(minutes=30))
        assert escalated.id == alert.id
        db_session.commit()
    tasks.deliver_alerts.call_local()
    text = mailbox.last_text("ops@example.ru")
    assert "Не подтверждено, повторно" in text
    link = text.split("/alerts/ack/")[1].split()[0]

    page = client.get(f"/alerts/ack/{link}")
    assert page.status_code == 200 and "Подтвердить тревогу" in page.get_data(as_text=True)
    token = csrf_token(client, f"/alerts/ack/{link}")
    assert client.post(f"/alerts/ack/{link}", data={"csrf_token": token}).status_code == 302
    assert fresh(db_session, alert).acknowledged_at is not None
    with app.app_context():
        assert alerts.escalate_due(db_session, notifier, T0 + timedelta(hours=2)) == []
    assert client.get("/alerts/ack/not-a-token").status_code == 404


def test_an_unreachable_gateway_marks_the_notice_failed_and_retries_it(app, db_session, channels):
    telegram, _sms, _mailbox = channels
    telegram.status, telegram.answer = 502, {"ok": False, "description": "bad gateway"}
    cpu(app, db_session, 97, T0)
    [failed] = [d for d in deliveries(db_session) if d.channel == "telegram"]
    assert failed.status == DeliveryStatus.FAILED and failed.attempts == 1
    assert "502" in failed.last_error
    first_wait = failed.next_try_at - datetime.now(UTC)
    assert timedelta(seconds=20) < first_wait <= timedelta(seconds=30)

    failed.next_try_at = T0  # due now; the gateway is still down: the wait doubles
    db_session.commit()
    tasks.deliver_alerts.call_local()
    failed = fresh(db_session, failed)
    assert failed.attempts == 2 and failed.status == DeliveryStatus.FAILED
    assert failed.next_try_at - datetime.now(UTC) > timedelta(seconds=50)

    telegram.status, telegram.answer = 200, {"ok": True}
    failed.next_try_at = T0
    db_session.commit()
    tasks.deliver_alerts.call_local()
    failed = fresh(db_session, failed)
    assert failed.status == DeliveryStatus.SENT and failed.attempts == 3


def test_backoff_is_capped_at_30_minutes():
    delivery = AlertDelivery(attempts=20)

    def broken(_delivery):
        raise OSError("down")

    assert not alerts.attempt(delivery, broken, T0)
    assert delivery.next_try_at == T0 + timedelta(minutes=30)


def test_the_weekly_report_runs_on_monday_at_two_oh_five_moscow_time():
    from webapp.analysis.tasks import weekly_report

    due = weekly_report.periodic  # the schedule the consumer checks every minute
    assert due(datetime(2026, 11, 29, 23, 5))  # Sunday 23:05 UTC = Monday 02:05 МСК
    assert datetime(2026, 11, 30).weekday() == 0
    assert not due(datetime(2026, 11, 30, 23, 5))  # Monday 23:05 UTC is Tuesday in Moscow
    assert not due(datetime(2026, 11, 29, 23, 4))
    assert sum(due(datetime(2026, 11, 23) + timedelta(minutes=m)) for m in range(7 * 1440)) == 1


def test_the_daily_report_runs_at_two_in_the_morning_moscow_time():
    due = daily_at(2, 0)
    assert due(datetime(2026, 11, 24, 23, 0))  # Huey hands over naive UTC
    assert not due(datetime(2026, 11, 24, 22, 59))
    assert not due(datetime(2026, 11, 25, 2, 0))
