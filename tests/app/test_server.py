"""The real server: gunicorn with gevent workers serving the app from a fresh instance folder."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.live import live_server, wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("server-instance")) as running:
        yield running


def test_fresh_instance_serves_healthz_login_and_seeded_catalogue(server):
    health = json.loads(wait_for(server.url + "/healthz"))
    assert health["status"] == "ok" and health["db"] == "ok"
    assert "Вход" in wait_for(server.url + "/login").decode()
    assert "Алиса" in wait_for(server.url + "/").decode()
    for name in ("initial-admin.txt", "secrets.env", "node.key"):
        assert (server.instance / name).exists(), name


def test_static_vendor_files_are_served_with_long_cache(server):
    with urllib.request.urlopen(server.url + "/static/vendor/htmx.min.js?v=1") as response:
        assert response.status == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
