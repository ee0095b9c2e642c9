"""The real server: gunicorn with gevent workers serving the app from a fresh instance folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_for(url: str, seconds: float = 30) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("server-instance")
    env = {**os.environ, "INSTANCE_PATH": str(instance), "MEHHOST_ENV": "development"}
    env.pop("DATABASE_URL", None)
    subprocess.run([BIN / "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
    subprocess.run([BIN / "flask", "--app", "app", "bootstrap"], cwd=ROOT, env=env, check=True)
    port = free_port()
    process = subprocess.Popen(
        [BIN / "gunicorn", "--worker-class", "gevent", "--bind", f"127.0.0.1:{port}", "app:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz")
        yield base, instance
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_fresh_instance_serves_healthz_login_and_seeded_catalogue(server):
    base, instance = server
    health = json.loads(wait_for(base + "/healthz"))
    assert health["status"] == "ok" and health["db"] == "ok"
    assert "Вход" in wait_for(base + "/login").decode()
    assert "Алиса" in wait_for(base + "/").decode()
    assert (instance / "initial-admin.txt").exists()
    assert (instance / "secrets.env").exists()


def test_static_vendor_files_are_served_with_long_cache(server):
    base, _ = server
    with urllib.request.urlopen(base + "/static/vendor/htmx.min.js?v=1") as response:
        assert response.status == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
