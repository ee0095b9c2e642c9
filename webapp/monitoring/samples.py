"""Samples: the newest hour in a ring on the bus, older data as downsampled points in the database.

pc_node pushes PC samples every 5 s (through the dispatcher), the collector samples the VDS every
10 s. One collector (the bus claim's holder) turns closed minutes of the ring into 1-minute points
and closed 10-minute windows of those into 10-minute points.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.monitoring.catalogue import INTERVAL_S, RING_KEEP, SOURCES, metrics_of
from webapp.monitoring.models import MetricPoint

GB = 1024**3
MINUTE, TEN_MINUTES = 60, 600
HISTORY_DAYS = {MINUTE: 7, TEN_MINUTES: 90}


def ring_key(source: str) -> str:
    return f"samples:{source}"


def ingest(bus: Bus, source: str, at: float, values: dict[str, Any]) -> None:
    """Keep one sample in the source's ring; non-numeric values are dropped here, once."""
    clean = {
        name: float(value)
        for name, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    bus.append(ring_key(source), {"at": float(at), "values": clean}, keep=RING_KEEP[source])


def recent(bus: Bus, source: str, since: float | None = None) -> list[dict[str, Any]]:
    samples = bus.recent(ring_key(source))
    if since is not None:
        samples = [sample for sample in samples if sample["at"] >= since]
    return samples


def latest(bus: Bus, source: str) -> dict[str, Any] | None:
    newest = bus.recent(ring_key(source), last=1)
    return newest[0] if newest else None


def is_stale(sample: dict[str, Any] | None, source: str, now: float) -> bool:
    """No sample for three reporting intervals: the widget must say its data is old."""
    return sample is None or now - sample["at"] > 3 * INTERVAL_S[source]


class VdsSampler:
    """This server's CPU, RAM, disk and network; network as a rate between two readings."""

    def __init__(self, disk_path: Path, clock=time.time) -> None:
        self.disk_path = disk_path
        self.clock = clock
        self._net: tuple[float, int] | None = None
        psutil.cpu_percent(None)  # the first reading is meaningless; prime it

    def sample(self) -> dict[str, float]:
        now = self.clock()
        memory = psutil.virtual_memory()
        counters = psutil.net_io_counters()
        total_bytes = counters.bytes_sent + counters.bytes_recv
        net_kbps = 0.0
        if self._net is not None and now > self._net[0]:
            net_kbps = max(0, total_bytes - self._net[1]) * 8 / 1000 / (now - self._net[0])
        self._net = (now, total_bytes)
        return {
            "cpu_percent": psutil.cpu_percent(None),
            "ram_used_gb": round((memory.total - memory.available) / GB, 2),
            "ram_total_gb": round(memory.total / GB, 2),
            "disk_percent": psutil.disk_usage(str(self.disk_path)).percent,
            "net_kbps": round(net_kbps, 1),
        }


@dataclass(frozen=True)
class Summary:
    mean: float
    peak: float
    low: float
    samples: int


def summarise(values: list[float]) -> Summary:
    return Summary(sum(values) / len(values), max(values), min(values), len(values))


def _floor(moment: datetime, step: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % step, UTC)


def roll_up(session: Session, bus: Bus, now: datetime) -> int:
    """Write every closed minute (from the ring) and 10-minute window (from minutes) not yet
    stored; return how many points were added. Idempotent: it resumes after the newest point."""
    added = 0
    for source in SOURCES:
        added += _roll_minutes(session, bus, source, now)
        added += _roll_ten_minutes(session, source, now)
    return added


def _newest_bucket(session: Session, source: str, step: int) -> datetime | None:
    return session.scalar(
        select(func.max(MetricPoint.bucket)).where(
            MetricPoint.source == source, MetricPoint.step == step
        )
    )


def _roll_minutes(session: Session, bus: Bus, source: str, now: datetime) -> int:
    closed_until = _floor(now, MINUTE)
    newest = _newest_bucket(session, source, MINUTE)
    start = closed_until - timedelta(hours=1)
    if newest is not None:
        start = max(start, newest + timedelta(seconds=MINUTE))
    samples = recent(bus, source, since=start.timestamp())
    buckets: dict[datetime, list[dict[str, float]]] = {}
    for sample in samples:
        if sample["at"] < closed_until.timestamp():
            moment = datetime.fromtimestamp(sample["at"], UTC)
            buckets.setdefault(_floor(moment, MINUTE), []).append(sample["values"])
    return _store(session, source, MINUTE, buckets)


def _roll_ten_minutes(session: Session, source: str, now: datetime) -> int:
    closed_until = _floor(now, TEN_MINUTES)
    newest = _newest_bucket(session, source, TEN_MINUTES)
    start = closed_until - timedelta(days=HISTORY_DAYS[MINUTE])
    if newest is not None:
        start = max(start, newest + timedelta(seconds=TEN_MINUTES))
    if start >= closed_until:
        return 0
    rows = session.execute(
        select(MetricPoint.bucket, MetricPoint.metric, MetricPoint.mean).where(
            MetricPoint.source == source,
            MetricPoint.step == MINUTE,
            MetricPoint.bucket >= start,
            MetricPoint.bucket < closed_until,
        )
    ).all()
    buckets: dict[datetime, list[dict[str, float]]] = {}
    by_minute: dict[datetime, dict[str, float]] = {}
    for bucket, metric, mean in rows:
        by_minute.setdefault(bucket, {})[metric] = mean
    for minute, values in by_minute.items():
        buckets.setdefault(_floor(minute, TEN_MINUTES), []).append(values)
    return _store(session, source, TEN_MINUTES, buckets)


def _store(
    session: Session, source: str, step: int, buckets: dict[datetime, list[dict[str, float]]]
) -> int:
    names = [metric.name for metric in metrics_of(source)]
    points = []
    for bucket, readings in sorted(buckets.items()):
        for name in names:
            values = [reading[name] for reading in readings if name in reading]
            if values:
                summary = summarise(values)
                points.append(
                    MetricPoint(
                        source=source,
                        metric=name,
                        step=step,
                        bucket=bucket,
                        mean=summary.mean,
                        peak=summary.peak,
                        low=summary.low,
                        samples=summary.samples,
                    )
                )
    session.add_all(points)
    return len(points)


def history(
    session: Session, source: str, metric: str, since: datetime, until: datetime
) -> list[MetricPoint]:
    """Stored points of one metric, the finest resolution that still covers `since`."""
    step = MINUTE if since >= until - timedelta(days=HISTORY_DAYS[MINUTE]) else TEN_MINUTES
    return list(
        session.scalars(
            select(MetricPoint)
            .where(
                MetricPoint.source == source,
                MetricPoint.metric == metric,
                MetricPoint.step == step,
                MetricPoint.bucket >= since,
                MetricPoint.bucket < until,
            )
            .order_by(MetricPoint.bucket)
        )
    )


def purge_history(session: Session, now: datetime) -> int:
    removed = 0
    for step, days in HISTORY_DAYS.items():
        result = session.execute(
            delete(MetricPoint).where(
                MetricPoint.step == step, MetricPoint.bucket < now - timedelta(days=days)
            )
        )
        removed += result.rowcount or 0
    return removed
