"""config/health/mehhost-health.sh: three failed /healthz checks in a row restart the units;
a good check resets the count."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "config/health/mehhost-health.sh"
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture
def site():
    """A stand-in /healthz whose answer the test switches."""
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_port}/healthz"
    server.shutdown()


def check(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HEALTH_URL": url,
        "HEALTH_STATE": str(tmp_path / "failures"),
        "RESTART_COMMAND": f"touch {tmp_path / 'restarted'}",
    }
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)


def test_three_failures_in_a_row_restart_and_a_success_resets(site, tmp_path):
    state, url = site
    assert check(url, tmp_path).returncode == 0
    state["status"] = 503
    for _ in range(2):
        assert check(url, tmp_path).returncode == 1
    assert not (tmp_path / "restarted").exists()
    state["status"] = 200
    assert check(url, tmp_path).returncode == 0  # the count starts again
    state["status"] = 503
    for _ in range(2):
        check(url, tmp_path)
    assert not (tmp_path / "restarted").exists()
    result = check(url, tmp_path)
    assert "restarting" in result.stderr and (tmp_path / "restarted").exists()
    assert (tmp_path / "failures").read_text().strip() == "0"
