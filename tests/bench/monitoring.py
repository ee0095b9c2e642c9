"""Monitoring: widget partial render, metric ingest rate, and the collector's CPU cost."""

from __future__ import annotations

import os
import statistics
import time


def _ingest_rate(bus, count: int) -> float:
    from webapp.monitoring import samples
    from webapp.monitoring.catalogue import PC

    values = {"cpu_percent": 12.5, "gpu_percent": 80.0, "ram_used_gb": 9.1, "ai_first_token_ms": 90}
    started = time.perf_counter()
    for n in range(count):
        samples.ingest(bus, PC, n * 0.001, values)
    return count / (time.perf_counter() - started)


def measure(app, timed, percentile, signed_in_client) -> dict[str, float]:
    import psutil

    from webapp.accounts.models import Role, User
    from webapp.bus import InProcessBus, RedisBus
    from webapp.extensions import db
    from webapp.monitoring import samples
    from webapp.monitoring.catalogue import PC, VDS
    from webapp.monitoring.collector import Collector

    bus = app.extensions["mehhost.bus"]
    client, user_id = signed_in_client(app, with_user_id=True)
    with app.app_context(), db.new_session() as session:
        session.get(User, user_id).role = Role.ADMIN
        session.commit()
    now = time.time()
    for n in range(720):  # an hour of PC samples
        samples.ingest(bus, PC, now - 3600 + n * 5, {"cpu_percent": n % 100, "gpu_percent": 50})
    for n in range(360):
        samples.ingest(bus, VDS, now - 3600 + n * 10, {"cpu_percent": n % 100})
    htmx = {"HX-Request": "true"}
    widget = timed(lambda: client.get("/monitoring/widgets/pc", headers=htmx), 200)
    graphs = timed(lambda: client.get("/monitoring/graphs/pc", headers=htmx), 100)
    health = timed(lambda: client.get("/healthz"), 200)

    ingest_rate = _ingest_rate(InProcessBus(), 50_000)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    redis_bus = RedisBus(redis_url, prefix=f"mehhost-bench-{os.getpid()}:")
    try:
        redis_rate = _ingest_rate(redis_bus, 5_000) if redis_bus.ping() else None
    finally:
        redis_bus.client.delete(redis_bus.prefix + samples.ring_key(PC))

    # The collector's cost: run its rounds back to back (each is what happens every 10 s) and
    # convert the CPU time of one round into a share of one core at the default interval.
    collector = Collector(app)
    process = psutil.Process()
    rounds = 30
    cpu_before = process.cpu_times()
    for _ in range(rounds):
        collector.run_once()
        collector._last_rollup = 0  # include the once-a-minute roll-up in every round: worst case
    cpu_after = process.cpu_times()
    cpu_per_round = (
        (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    ) / rounds
    return {
        "monitoring_widget_partial_p50_ms": round(statistics.median(widget), 3),
        "monitoring_widget_partial_p95_ms": round(percentile(widget, 0.95), 3),
        "monitoring_graphs_partial_p95_ms": round(percentile(graphs, 0.95), 3),
        "monitoring_reference_healthz_p95_ms": round(percentile(health, 0.95), 3),
        "monitoring_ingest_samples_per_s": round(ingest_rate),
        # One round trip per sample (RPUSH + LTRIM pipelined); None when Redis is not there.
        "monitoring_ingest_redis_samples_per_s": redis_rate and round(redis_rate),
        "monitoring_collector_round_cpu_ms": round(cpu_per_round * 1000, 2),
        "monitoring_collector_core_share_percent": round(cpu_per_round / 10 * 100, 3),
    }
