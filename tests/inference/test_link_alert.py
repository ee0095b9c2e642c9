"""The home PC or its link gone for longer than 30 s: a high alert on every channel, resolved
when a node links again; nobody is paged on a site that never had a node."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from webapp.inference import status, watch
from webapp.monitoring import logs, tasks
from webapp.monitoring.delivery import notifier_for
from webapp.monitoring.models import Alert, AlertState, LogEntry, Severity

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NODE = {"id": "web-1:0:pc", "node_id": "pc", "model": "qwen", "context_size": 8192,
        "capacity": 1, "running": 0, "tokens_per_s": 20.0}  # fmt: skip


def round_at(app, db_session, moment):
    with app.app_context():
        changed = watch.link_round(db_session, None, notifier_for(app, db_session), 0.0, moment)
        db_session.commit()
    tasks.deliver_alerts.call_local()
    return changed


def linked(db_session, moment):
    logs.system(db_session, "node_linked", node="pc", model="qwen", capacity=1)
    db_session.flush()
    entry = db_session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()
    entry.created_at = moment
    status.beat(db_session, "web-1", [NODE], moment)
    db_session.commit()


def test_a_site_that_never_had_a_node_pages_nobody(app, db_session, channels):
    assert round_at(app, db_session, T0) == []
    assert round_at(app, db_session, T0 + timedelta(hours=1)) == []


def test_a_lost_link_is_a_high_alert_after_30_s_and_ends_when_it_returns(
    app,
    db_session,
    channels,
):
    telegram, sms, mailbox = channels
    linked(db_session, T0)
    assert round_at(app, db_session, T0 + timedelta(seconds=5)) == []  # linked: all well
    # The web process holding the link is killed: no unlink written, the heartbeat ages.
    assert round_at(app, db_session, T0 + timedelta(seconds=30)) == []  # not yet 30 s
    [alert] = round_at(app, db_session, T0 + timedelta(seconds=45))
    assert (alert.severity, alert.state, alert.key) == (Severity.HIGH, AlertState.FIRING, "ai:link")
    assert "ПК с ИИ не на связи" in alert.title
    assert "ПК с ИИ не на связи" in mailbox.last_text("ops@example.ru")
    assert telegram.requests and sms.requests  # every channel
    assert round_at(app, db_session, T0 + timedelta(seconds=60)) == []  # told once
    linked(db_session, T0 + timedelta(seconds=90))
    [resolved] = round_at(app, db_session, T0 + timedelta(seconds=91))
    assert resolved.state == AlertState.RESOLVED
    assert db_session.scalar(select(Alert.resolved_at)) is not None
