"""Analysis results reach people: anomaly and forecast alerts, and economy mode."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from tests.alerting import deliveries, fresh
from webapp.analysis import alerting
from webapp.inference import economy, jobs
from webapp.inference.models import InferenceJob
from webapp.inference.status import write_status
from webapp.monitoring import samples, tasks
from webapp.monitoring.catalogue import PC
from webapp.monitoring.delivery import notifier_for
from webapp.monitoring.models import AlertState, MetricPoint, Severity

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def hour_of_pc(bus, until: datetime, burst: bool) -> None:
    rng = np.random.default_rng(0)
    for n in range(720):
        at = until.timestamp() - 3600 + (n + 1) * 5
        cpu = 30 + rng.normal(0, 2)
        if burst and n >= 712:
            cpu = 99.0
        samples.ingest(bus, PC, at, {"cpu_percent": cpu, "gpu_percent": 40 + rng.normal(0, 2)})


def test_a_current_anomaly_alerts_through_the_channels_and_resolves(
    app, db_session, channels, models
):
    telegram, _sms, mailbox = channels
    bus = app.extensions["mehhost.bus"]
    hour_of_pc(bus, T0, burst=True)
    with app.app_context():
        changed, results = alerting.evaluate_anomalies(
            db_session, bus, notifier_for(app, db_session), models, T0
        )
        db_session.commit()
    [alert] = changed
    assert alert.key == "anomaly:pc:cpu_percent" and alert.severity == Severity.HIGH
    assert "Аномалия" in alert.title and "CPU" in alert.title
    assert results["pc"].windows[-1].metrics == ["cpu_percent"]
    tasks.deliver_alerts.call_local()
    assert telegram.requests and "Аномалия" in telegram.requests[0]["json"]["text"]
    assert "Аномалия" in mailbox.last_text("ops@example.ru")

    bus.delete(samples.ring_key(PC))
    later = T0 + timedelta(minutes=10)
    hour_of_pc(bus, later, burst=False)
    with app.app_context():
        changed, _ = alerting.evaluate_anomalies(
            db_session, bus, notifier_for(app, db_session), models, later
        )
        db_session.commit()
    assert fresh(db_session, alert).state == AlertState.RESOLVED
    assert deliveries(db_session, "resolved")


def test_a_forecast_crossing_the_critical_line_within_the_hour_warns_first(
    app, db_session, channels, models
):
    # A week of ordinary daily GPU load, then twenty hours of steady climbing: at this pace the
    # critical line (98%) is about half an hour away.
    steps = 8 * 144
    for n in range(steps):
        bucket = T0 - timedelta(minutes=10 * (steps - 1 - n))
        ramp = n - (steps - 120)
        value = 30 + 66 * ramp / 119 if ramp >= 0 else 40 + 10 * np.sin(2 * np.pi * n / 144)
        db_session.add(
            MetricPoint(
                source="pc",
                metric="gpu_percent",
                step=600,
                bucket=bucket,
                mean=value,
                peak=value,
                low=value,
                samples=60,
            )
        )
    db_session.commit()
    bus = app.extensions["mehhost.bus"]
    samples.ingest(bus, PC, T0.timestamp(), {"gpu_percent": 96.0})
    with app.app_context():
        changed = alerting.predict_crossings(
            db_session, bus, notifier_for(app, db_session), models, T0
        )
        db_session.commit()
    keys = {alert.key: alert for alert in changed}
    assert "forecast:pc.gpu_percent" in keys, [a.title for a in changed]
    alert = keys["forecast:pc.gpu_percent"]
    assert alert.severity == Severity.MEDIUM and "Прогноз" in alert.title
    assert "pc.cpu_percent" not in str(keys)  # no history there, no warning

    # The climb stops: the warning is withdrawn.
    for point in db_session.scalars(select(MetricPoint)).all():
        point.mean = 40.0
    db_session.commit()
    with app.app_context():
        alerting.predict_crossings(db_session, bus, notifier_for(app, db_session), models, T0)
        db_session.commit()
    assert fresh(db_session, alert).state == AlertState.RESOLVED


def test_economy_mode_shortens_new_replies_while_overloaded_and_restores_after_calm(app):
    bus = app.extensions["mehhost.bus"]
    now = 1_800_000_000.0
    write_status(bus, {"state": "overloaded"})
    assert economy.update(bus, now)["max_tokens"] == economy.ECONOMY_MAX_TOKENS
    assert economy.cap(bus, 1000) == economy.ECONOMY_MAX_TOKENS
    assert economy.cap(bus, 100) == 100
    write_status(bus, {"state": "online"})
    assert economy.update(bus, now + 30) is not None  # not calm for long enough yet
    assert economy.cap(bus, 1000) == economy.ECONOMY_MAX_TOKENS
    assert economy.update(bus, now + 30 + economy.CALM_BEFORE_EXIT_S) is None
    assert economy.cap(bus, 1000) == 1000
    bus.delete("ai_service_status")


def test_every_job_submitted_in_economy_mode_is_shortened(app, db_session, make_user):
    """The cap is applied where jobs enter the queue: chat replies, previews and summaries
    alike, whoever submits them."""
    bus = app.extensions["mehhost.bus"]
    user = make_user()
    write_status(bus, {"state": "overloaded"})
    economy.update(bus, 1_800_000_000.0)
    try:
        ids = [
            jobs.submit(db_session, bus, user_id=user.id, kind=kind, messages=[], max_tokens=900)
            for kind in ("chat_reply", "preview", "summary")
        ]
        db_session.commit()
    finally:
        bus.delete(economy.ECONOMY_KEY)
        bus.delete("ai_service_status")
    stored = [json.loads(db_session.get(InferenceJob, job_id).payload) for job_id in ids]
    assert [payload["max_tokens"] for payload in stored] == [economy.ECONOMY_MAX_TOKENS] * 3
    normal = jobs.submit(
        db_session, bus, user_id=user.id, kind="preview", messages=[], max_tokens=900
    )
    db_session.commit()
    assert json.loads(db_session.get(InferenceJob, normal).payload)["max_tokens"] == 900
