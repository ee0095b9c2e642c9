"""The collector samples the VDS, keeps an hour in the ring and rolls it up into history."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from webapp.monitoring import presence, samples
from webapp.monitoring.catalogue import PC, VDS
from webapp.monitoring.collector import LEADER_KEY, Collector
from webapp.monitoring.models import MetricPoint

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


def clear(bus):
    for key in (samples.ring_key(PC), samples.ring_key(VDS), LEADER_KEY, presence.PRESENCE_KEY):
        bus.delete(key)


def test_one_collector_samples_and_rolls_up_minutes(app, worker_app, db_session):
    bus = app.extensions["mehhost.bus"]
    clear(bus)
    clock = Clock(T0)
    leader, other = Collector(app, clock), Collector(app, clock)
    try:
        for _ in range(13):  # two minutes and a bit at 10 s
            leader.run_once()
            other.run_once()  # not the claim holder: reports presence only
            clock.now += 10
        assert len(samples.recent(bus, VDS)) == 13
        assert {"cpu_percent", "ram_used_gb", "disk_percent", "net_kbps"} <= set(
            samples.latest(bus, VDS)["values"]
        )
        points = db_session.scalars(select(MetricPoint).where(MetricPoint.step == 60)).all()
        assert {p.bucket for p in points} == {T0, T0 + timedelta(minutes=1)}
        assert all(p.samples == 6 for p in points if p.metric == "cpu_percent")
        sockets, _users = presence.online(bus, clock.now)
        assert sockets == 0
    finally:
        clear(bus)


def test_ten_minute_points_come_from_minutes_and_history_picks_the_resolution(app, db_session):
    bus = app.extensions["mehhost.bus"]
    clear(bus)
    for second in range(0, 1200, 5):
        value = 10.0 if second < 600 else 30.0
        samples.ingest(
            bus, PC, (T0 + timedelta(seconds=second)).timestamp(), {"cpu_percent": value}
        )
    added = samples.roll_up(db_session, bus, T0 + timedelta(minutes=21))
    assert added == 20 + 2
    assert samples.roll_up(db_session, bus, T0 + timedelta(minutes=21)) == 0  # idempotent
    ten = samples.history(
        db_session, PC, "cpu_percent", T0 - timedelta(days=8), T0 + timedelta(hours=1)
    )
    assert [(p.bucket, p.mean) for p in ten] == [(T0, 10.0), (T0 + timedelta(minutes=10), 30.0)]
    minutes = samples.history(db_session, PC, "cpu_percent", T0, T0 + timedelta(hours=1))
    assert len(minutes) == 20 and minutes[0].samples == 12
    clear(bus)


def test_bad_values_in_a_sample_are_dropped_not_crashed_on(app):
    bus = app.extensions["mehhost.bus"]
    clear(bus)
    samples.ingest(
        bus,
        PC,
        1.0,
        {
            "cpu_percent": float("nan"),
            "gpu_percent": None,
            "ram_used_gb": 3,
            "flag": True,
            "name": "x",
        },
    )
    assert samples.latest(bus, PC)["values"] == {"ram_used_gb": 3.0}
    clear(bus)
