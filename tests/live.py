"""A real server for end-to-end tests: gunicorn with a gevent worker on a fresh instance folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def wait_for(url: str, seconds: float = 30) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:  # refused, reset, timed out (URLError is one too)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class LiveServer:
    def __init__(self, instance: Path, env: dict[str, str], port: int) -> None:
        self.instance = instance
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None  # gunicorn's master

    def another_web_process(self, log_path: Path) -> tuple[subprocess.Popen, str]:
        """A second gunicorn on this instance (same database, Redis and secrets), as a second
        host would run; (process, its base URL). The caller stops it."""
        port = free_port()
        log = open(log_path, "wb")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(
            [BIN / "gunicorn", "--worker-class", "gevent", "--bind", f"127.0.0.1:{port}",
             "--graceful-timeout", "3", "app:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for(url + "/healthz")
        return process, url

    def sessions(self):
        """Sessions on this server's database (made once), for tests that act as another
        process of the deployment would."""
        if getattr(self, "_sessions", None) is None:
            from sqlalchemy.orm import sessionmaker

            from webapp.db import make_engine

            url = self.env.get("DATABASE_URL") or f"sqlite:///{self.instance / 'mehhost.db'}"
            self._sessions = sessionmaker(bind=make_engine(url), expire_on_commit=False)
        return self._sessions()

    def flask(self, *args: str) -> str:
        """Run a `flask` command against this server's instance; its output."""
        done = subprocess.run(
            [BIN / "flask", "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout


@contextmanager
def live_server(instance: Path, *gunicorn_args: str, **env_overrides: str):
    env = {
        **os.environ,
        "INSTANCE_PATH": str(instance),
        "MEHHOST_ENV": "development",
        **env_overrides,
    }
    if "DATABASE_URL" not in env_overrides:
        env.pop("DATABASE_URL", None)
    subprocess.run(
        [BIN / "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    server = LiveServer(instance, env, free_port())
    server.flask("bootstrap")
    log = open(instance / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            BIN / "gunicorn",
            "--worker-class",
            "gevent",
            "--bind",
            f"127.0.0.1:{server.port}",
            "--graceful-timeout",
            "3",
            *gunicorn_args,
            "app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server.process = process
    try:
        wait_for(server.url + "/healthz")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def ai_state(server: LiveServer) -> str:
    """online / overloaded / offline, as /healthz reports it."""
    return json.loads(wait_for(server.url + "/healthz"))["ai"]


@contextmanager
def tiny_node(
    server: LiveServer,
    *,
    context_size: int = 2048,
    threads: int | None = None,
    stderr=subprocess.DEVNULL,
):
    """pc_node with the bundled tiny model linked to `server`; yields once the AI is online."""
    node = subprocess.Popen(
        [
            BIN / "python",
            "-m",
            "pc_node",
            "--server",
            server.ws_url + "/node/ws",
            "--api-key-file",
            str(server.instance / "node.key"),
            "--node-id",
            "tiny",
            "--context-size",
            str(context_size),
            *(["--threads", str(threads)] if threads else []),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        wait_until(lambda: ai_state(server) == "online", seconds=60)
        yield node
    finally:
        node.terminate()
        node.wait(timeout=15)
