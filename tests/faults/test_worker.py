"""The background worker as `make run` starts it: the web process (gunicorn + gevent) queues, the
Huey consumer (`huey_consumer workers.tasks.huey`, a separate process) delivers, through the
queue the two share: SqliteHuey in the instance folder on the embedded defaults, RedisHuey on
MariaDB + Redis. The consumer is paused and killed while work waits; nothing queued is lost.
"""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager, nullcontext
from email import message_from_bytes, policy

import pytest

from tests.conftest import free_port
from tests.faults.harness import private_redis
from tests.faults.test_faults import database
from tests.live import BIN, ROOT, live_server, wait_until

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is missing (make test installs it)"
)


@pytest.fixture(params=["embedded", "mariadb+redis"])
def deployment(request, tmp_path):
    """(server, mail folder): a live web process with the dev mail sink on a port of its own."""
    embedded = request.param == "embedded"
    with (
        database("sqlite" if embedded else "mariadb") as db_env,
        nullcontext(("", None)) if embedded else private_redis(tmp_path) as (redis_url, _redis),
    ):
        env = {
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"worker-{uuid.uuid4().hex[:8]}:",
            "RATELIMIT_ENABLED": "false",
            "SMTP_PORT": str(free_port()),
            **db_env,
        }
        sink = [BIN / "python", "-m", "webapp.notify.sink"]
        with live_server(tmp_path, **env) as server, _process(server, "mail", sink):
            yield server, tmp_path / "mail"


@contextmanager
def _process(server, name: str, args: list):
    log = open(server.instance / f"{name}.log", "ab")  # noqa: SIM115 - closed below
    env = {**server.env, "PYTHONUNBUFFERED": "1"}  # its log survives a kill
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def _consumer(server):
    return _process(
        server, "worker", [BIN / "huey_consumer", "workers.tasks.huey", "--workers", "2",
                           "--worker-type", "thread", "--max-delay", "1"],
    )  # fmt: skip


def _register(server, email: str) -> None:
    """Sign up through the page, as a person would: the confirmation email is queued."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(server.url + "/register", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {
        "email": email,
        "display_name": "Новичок",
        "password": "лунная дорожка 42",
        "consent": "y",
        "csrf_token": token,
    }
    answer = opener.open(server.url + "/register", urllib.parse.urlencode(form).encode(), 10)
    assert "/register/check-email" in answer.url


def _received(mail) -> list[str]:
    if not mail.exists():
        return []
    found = []
    for path in sorted(mail.glob("*.eml")):
        found.append(message_from_bytes(path.read_bytes(), policy=policy.default)["To"])
    return found


def _idle(server) -> bool:
    """The consumer ran the periodic tasks it starts with, and none is due for a while (they
    run at the top of each minute). Paused inside one, it would hold the embedded database's
    one write lock, and the site's writes would wait for it (SQLite has a single writer)."""
    log = (server.instance / "worker.log").read_text(errors="replace")
    started = log.rsplit("Huey consumer started", 1)[-1]
    ran = all(re.search(rf"tasks\.{name}: \S+ executed in", started)
              for name in ("maintenance_tick", "watch_alerts"))  # fmt: skip
    return ran and 5 <= time.localtime().tm_sec <= 50


def test_work_queued_while_the_consumer_is_paused_and_killed_is_done_by_the_next(deployment):
    server, mail = deployment
    with _consumer(server) as first:
        _register(server, "early@example.ru")
        wait_until(lambda: "early@example.ru" in _received(mail), seconds=30)
        wait_until(lambda: _idle(server), seconds=70)
        first.send_signal(signal.SIGSTOP)  # a consumer that hangs between tasks ...
        _register(server, "waiting@example.ru")
        first.send_signal(signal.SIGKILL)  # ... and then dies, with work in the queue
        first.wait()
    assert "waiting@example.ru" not in _received(mail)
    with _consumer(server):
        wait_until(lambda: "waiting@example.ru" in _received(mail), seconds=30)
    assert _received(mail).count("waiting@example.ru") == 1
