"""The fail2ban filter matches the failures our security log writes, and only those: checked by
fail2ban-regex itself against lines the app really produced."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from webapp.monitoring import logs

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "config/fail2ban/filter.d/mehhost.conf"
REGEX_TOOL = shutil.which("fail2ban-regex")
pytestmark = pytest.mark.skipif(
    REGEX_TOOL is None and not os.environ.get("OPS_REQUIRED"),
    reason="fail2ban is not installed (make test installs it from Debian)",
)


def test_the_filter_matches_failed_logins_and_rejected_node_keys_only(app, db_session, tmp_path):
    path = tmp_path / "security.log"
    logs.install_security_file(path)
    try:
        for _attempt in range(3):
            logs.security(db_session, "login_failed", ip="203.0.113.9", reason="wrong_password")
        logs.security(db_session, "login_failed", ip="198.51.100.4", reason="unknown_email")
        logs.security(db_session, "account_locked", user_id=5, ip="203.0.113.9", until="soon")
        logs.security(db_session, "node_key_rejected", ip="2001:db8::7", presented="yes")
        logs.security(db_session, "login", user_id=5, ip="192.0.2.1", device="Firefox на Linux")
        logs.security(db_session, "password_reset", user_id=5, ip="192.0.2.1")
        db_session.rollback()
    finally:
        handler = next(
            h for h in logs._security_file.handlers if getattr(h, "baseFilename", "") == str(path)
        )
        logs._security_file.removeHandler(handler)
        handler.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ security login_failed ip=203\.0\.113\.9 user=- "
        r"reason=wrong_password",
        lines[0],
    )
    assert "Firefox" not in lines[6]  # the device is left out: free text has no place here
    checked = subprocess.run(
        [REGEX_TOOL, "--print-all-matched", str(path), str(FILTER)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert re.search(r"Lines: 8 lines, 0 ignored, 6 matched, 2 missed", checked.stdout)
    for address in ("203.0.113.9", "198.51.100.4", "2001:db8::7"):
        assert address in checked.stdout
