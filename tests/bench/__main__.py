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


def signed_in_client(app, with_user_id: bool = False):
    """A test client holding the cookies of a fresh device session of a new user."""
    from tests.factories import user as make_user
    from webapp.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE
    from webapp.auth.sessions import start_session
    from webapp.db import utcnow
    from webapp.extensions import db

    client = app.test_client()
    with app.app_context(), db.new_session() as session:
        user = make_user(session, app.extensions["mehhost.pii"])
        _, tokens = start_session(
            session,
            app.extensions["mehhost.settings"],
            user,
            device="bench",
            ip="::1",
            now=utcnow(),
        )
        session.commit()
        user_id = user.id
    client.set_cookie(ACCESS_COOKIE, tokens.access)
    client.set_cookie(REFRESH_COOKIE, tokens.refresh)
    return (client, user_id) if with_user_id else client


def concurrent_logins(app, instance: Path, workers: int, rounds: int) -> list[float]:
    """Wall time of each POST /login when `workers` people sign in at once (bcrypt cost 12)."""
    import re
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from tests.factories import user as make_user
    from webapp.extensions import db, limiter

    settings = app.extensions["mehhost.settings"]
    app.extensions["mehhost.settings"] = replace(settings, bcrypt_rounds=12, max_devices=50)
    with app.app_context(), db.new_session() as session:
        people = [
            make_user(session, app.extensions["mehhost.pii"], email=f"bench{n}@example.ru")
            for n in range(workers)
        ]
        for person in people:  # factories hash with cost 4; log in against real cost-12 hashes
            from webapp.accounts.passwords import hash_password

            person.password_hash = hash_password("correct horse battery staple", 12)
        session.commit()
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        limiter.enabled = False

    def one_login(n: int) -> float:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        started = time.perf_counter()
        response = client.post(
            "/login",
            data={
                "email": f"bench{n}@example.ru",
                "password": "correct horse battery staple",
                "csrf_token": token,
            },
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 302, response.status_code
        return elapsed

    samples: list[float] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in range(rounds):
            samples.extend(pool.map(one_login, range(workers)))
    app.extensions["mehhost.settings"] = settings
    return samples


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
    login_ms = concurrent_logins(app, instance, workers=10, rounds=3)
    profile_client = signed_in_client(app)
    profile = timed(lambda: profile_client.get("/profile"), 300)

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
        "login_10_concurrent_bcrypt12_p50_ms": round(statistics.median(login_ms), 1),
        "login_10_concurrent_bcrypt12_p95_ms": round(percentile(login_ms, 0.95), 1),
        # The floor no code can beat: every login is one cost-12 bcrypt check on one core.
        "login_10_concurrent_cpu_floor_ms": round(
            10 * statistics.median(bcrypt12) / (os.cpu_count() or 1), 1
        ),
        "cpu_count": os.cpu_count(),
        "authenticated_page_p50_ms": round(statistics.median(profile), 3),
        "authenticated_page_p95_ms": round(percentile(profile, 0.95), 3),
    }
    from tests.bench.chat import measure as measure_chat
    from tests.bench.inference import measure as measure_inference

    results.update(measure_chat(app, timed, percentile, first_load_bytes, signed_in_client))
    from tests.bench.search import measure as measure_search

    results.update(measure_search())
    from tests.bench.characters import measure as measure_characters

    results.update(measure_characters(app, timed, percentile))
    from tests.bench.cards import measure as measure_cards

    results.update(measure_cards(app))
    from tests.bench.monitoring import measure as measure_monitoring

    results.update(measure_monitoring(app, timed, percentile, signed_in_client))
    from tests.bench.analysis import measure as measure_analysis

    results.update(measure_analysis(instance))
    if os.environ.get("BENCH_WS_LOAD", "1") != "0":  # a minute of load; BENCH_WS_LOAD=0 skips
        from tests.bench.ws_load import measure as measure_ws_load

        results.update(measure_ws_load(percentile))

    results.update(measure_inference())
    from tests.bench.queue import measure as measure_queue

    results.update(measure_queue())
    from tests.bench.maintenance import measure as measure_maintenance

    results.update(measure_maintenance())
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
