"""`make bench`: measure, write instance/bench.json (one flat object, units in the key names).

Figures are taken side by side with a reference in the same run (a bare Flask app doing the least
possible work), because the machines we run on are shared and noisy.
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_PAGE_BUDGET_KB = 30


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def timed(call, repeat: int) -> list[float]:
    for _ in range(20):  # warm-up
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def first_load_bytes(client, path: str) -> tuple[int, int]:
    """Compressed bytes of a page plus every script and stylesheet it loads (cold cache)."""
    import re

    html = client.get(path).get_data()
    total = gzip_size(html)
    assets = re.findall(rb'(?:src|href)="(/static/[^"?]+)', html)
    for asset in assets:
        response = client.get(asset.decode())
        total += gzip_size(response.get_data())
        response.close()
    return total, len(assets)


def bare_reference_app():
    from flask import Flask, jsonify

    bare = Flask("reference")
    bare.add_url_rule("/json", "json", lambda: jsonify(status="ok"))
    bare.add_url_rule("/html", "html", lambda: "<!doctype html><p>ok</p>")
    return bare.test_client()


def main() -> int:
    instance = Path(tempfile.mkdtemp(prefix="mehhost-bench-"))
    os.environ.update(INSTANCE_PATH=str(instance), MEHHOST_ENV="test", REDIS_URL="")
    from tests.schema import reset_schema
    from webapp import create_app
    from webapp.accounts.passwords import check_password, hash_password
    from webapp.characters.service import seed_demo
    from webapp.db import make_engine

    engine = make_engine(f"sqlite:///{instance / 'mehhost.db'}")
    reset_schema(engine)
    app = create_app()
    with app.app_context():
        from webapp.extensions import db

        with db.new_session() as session:
            seed_demo(session)
            session.commit()
    client = app.test_client()
    reference = bare_reference_app()

    page_bytes, assets = first_load_bytes(client, "/login")
    healthz = timed(lambda: client.get("/healthz"), 300)
    catalogue = timed(lambda: client.get("/"), 300)
    bare_json = timed(lambda: reference.get("/json"), 300)
    bare_html = timed(lambda: reference.get("/html"), 300)
    hashed = hash_password("correct horse battery staple", 12)
    bcrypt12 = timed(lambda: check_password("correct horse battery staple", hashed), 5)

    results = {
        "base_page_first_load_gzip_kb": round(page_bytes / 1024, 2),
        "base_page_budget_kb": BASE_PAGE_BUDGET_KB,
        "base_page_assets_count": assets,
        "healthz_p50_ms": round(statistics.median(healthz), 3),
        "healthz_p95_ms": round(percentile(healthz, 0.95), 3),
        "reference_bare_json_p95_ms": round(percentile(bare_json, 0.95), 3),
        "catalogue_p50_ms": round(statistics.median(catalogue), 3),
        "catalogue_p95_ms": round(percentile(catalogue, 0.95), 3),
        "reference_bare_html_p95_ms": round(percentile(bare_html, 0.95), 3),
        "password_check_bcrypt12_ms": round(statistics.median(bcrypt12), 1),
    }
    out = Path(os.environ.get("BENCH_OUT", Path(__file__).resolve().parents[2] / "instance"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    if results["base_page_first_load_gzip_kb"] > BASE_PAGE_BUDGET_KB:
        print(f"base page is over its {BASE_PAGE_BUDGET_KB} KB budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
