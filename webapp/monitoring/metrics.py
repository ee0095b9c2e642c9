"""Prometheus metrics about HTTP traffic, recorded around every request."""

from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "mehhost_http_requests_total",
    "HTTP requests served",
    ["method", "endpoint", "status"],
)
LATENCY = Histogram(
    "mehhost_http_request_seconds",
    "Time to produce a response",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def instrument(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _record(response):
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        started = g.pop("request_started", None)
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response
