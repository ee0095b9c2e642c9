"""An outside scanner against the running site: Debian's wapiti, local modules only (none of
them reaches past 127.0.0.1), over the public pages and a signed-in person's pages.

Run by `make security` (SECURITY_SCAN=1), which installs wapiti; skipped elsewhere. The run
fails on any finding of an injection class and on any 500 the scanner provoked. The header and
cookie notes a development server earns by design are listed in EXPECTED with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live import live_server

WAPITI = shutil.which("wapiti")
pytestmark = pytest.mark.skipif(
    not os.environ.get("SECURITY_SCAN"), reason="the scan runs in `make security`"
)
# No ssrf, xxe (they call wapiti's endpoint on the internet), nikto, wapp (they download their
# databases), buster, brute_login_form (minutes of guessing against our own lockout).
MODULES = (
    "sql,blindsql,xss,permanentxss,exec,file,crlf,redirect,"
    "http_headers,cookieflags,csp,methods,backup,htaccess,shellshock"
)
# What a development server answers by design; production sets both (config/nginx, security.py).
EXPECTED = {
    "HTTP Secure Headers": {
        "Strict-Transport-Security is not set",  # HSTS only over HTTPS, in production
        "X-XSS-Protection is not set",  # obsolete; browsers removed it, CSP covers it
    },
    "Secure Flag cookie": "every",  # Secure is set when MEHHOST_ENV=production (HTTPS only)
}


def _scan(url: str, report: Path, session: Path, *headers: str) -> dict:
    command = [
        WAPITI or "wapiti",
        "-u",
        url,
        "--scope",
        "folder",
        "-m",
        MODULES,
        "-d",
        "3",
        "--max-scan-time",
        "120",
        "--max-attack-time",
        "25",
        "--flush-session",
        "--store-session",
        str(session),
        "--no-bugreport",
        "-f",
        "json",
        "-o",
        str(report),
        "-v",
        "0",
    ]
    for header in headers:
        command += ["-H", header]
    subprocess.run(command, check=True, capture_output=True, timeout=400)
    return json.loads(report.read_text())


def _unexpected(report: dict) -> list[str]:
    found = []
    for category, items in report["vulnerabilities"].items():
        allowed = EXPECTED.get(category, set())
        for item in items:
            if allowed != "every" and item["info"] not in allowed:
                found.append(f"{category}: {item['path']}: {item['info']}")
    for category, items in report["anomalies"].items():
        found += [f"{category}: {item['path']}: {item['info']}" for item in items]
    return found


def _person_cookie(server) -> str:
    """An access cookie of a fresh confirmed user (an hour long: the scanner cannot refresh)."""
    from config.settings import load_settings
    from tests import factories
    from webapp.auth.cookies import ACCESS_COOKIE
    from webapp.auth.sessions import start_session
    from webapp.db import utcnow
    from webapp.pii import PiiCipher, use_cipher

    settings = load_settings(server.env)
    cipher = PiiCipher(settings.pii_encryption_key)
    use_cipher(cipher)
    with server.sessions() as session:
        user = factories.user(session, cipher, email="scanned@example.ru")
        _device, tokens = start_session(
            session, settings, user, device="wapiti", ip="127.0.0.1", now=utcnow()
        )
        session.commit()
    server.scanned_session = _device.id
    return f"{ACCESS_COOKIE}={tokens.access}"


@pytest.mark.skipif(WAPITI is None, reason="wapiti is not installed (make security installs it)")
def test_wapiti_finds_nothing(tmp_path):
    with live_server(tmp_path / "instance", ACCESS_TOKEN_MINUTES="60") as server:
        public = _scan(server.url + "/", tmp_path / "public.json", tmp_path / "s1")
        assert _unexpected(public) == []
        # A signed-in person's pages: the scanner follows every link and form it is shown.
        cookie = _person_cookie(server)
        person = _scan(
            server.url + "/", tmp_path / "person.json", tmp_path / "s2", f"Cookie: {cookie}"
        )
        assert _unexpected(person) == []
        from webapp.auth.models import DeviceSession

        with server.sessions() as session:  # the scan really was signed in (and stayed so)
            scanned = session.get(DeviceSession, server.scanned_session)
            assert scanned.ended_at is None and scanned.last_seen_at > scanned.created_at
