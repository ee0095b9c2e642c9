"""Faults with the real processes: gunicorn with a gevent worker, pc_node (a scripted engine,
named as such: tests.bench.fast_node), a Redis of the test's own, on the embedded database
(SQLite) and on MariaDB. Each case breaks one thing while people wait for replies and checks
what they would notice: every message answered exactly once, nothing left "печатает…".
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
import uuid
from contextlib import contextmanager

import pytest

from tests.conftest import MARIADB_URL
from tests.faults.harness import (
    assert_answered_once,
    dialog_messages,
    health,
    owners,
    people,
    private_redis,
    scripted_node,
    send,
    send_all,
    timed_health,
    web_workers,
)
from tests.live import live_server, wait_for, wait_until

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is missing (make test installs it)"
)


@contextmanager
def database(kind: str):
    if kind == "sqlite":
        yield {}
        return
    if not MARIADB_URL:
        pytest.skip("MARIADB_URL is not set")
    import pymysql

    name = f"mehhost_faults_{os.getpid()}"
    base = MARIADB_URL.rsplit("/", 1)[0]
    server = pymysql.connect(host="127.0.0.1", user="root")
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield {"DATABASE_URL": f"{base}/{name}"}
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        server.close()


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def server(request, tmp_path_factory):
    instance = tmp_path_factory.mktemp(f"faults-{request.param}")
    with database(request.param) as db_env, private_redis(instance) as (redis_url, redis):
        env = {
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"faults-{uuid.uuid4().hex[:8]}:",
            "RATELIMIT_ENABLED": "false",
            **db_env,
        }
        with live_server(instance, **env) as running:
            running.redis = redis
            yield running


def test_a_web_worker_killed_mid_reply_loses_no_reply(server):
    crowd = people(server, 20)
    dialogs = [person["dialogs"][0] for person in crowd]
    with scripted_node(server, capacity=4, tokens=40, interval=0.05):
        send_all(server, crowd, "Привет!")
        time.sleep(0.5)  # replies stream, others wait in line
        [old] = web_workers(server)
        os.kill(old, signal.SIGKILL)  # the master starts a new worker; the node dials it
        wait_until(lambda: web_workers(server) not in ([], [old]), seconds=20)
        assert_answered_once(server, dialogs)
    samples = [health(server).get("status") for _ in range(3)]
    assert samples == ["ok"] * 3


def test_one_person_with_three_dialogs_gets_three_replies(server):
    [person] = people(server, 1, dialogs=3)
    with scripted_node(server, capacity=2, tokens=10, interval=0.05):
        for dialog_id in person["dialogs"]:
            send(server, person, dialog_id, "Ответь, пожалуйста")
        assert_answered_once(server, person["dialogs"])


def test_stop_while_five_people_wait_and_all_five_are_answered(server):
    crowd = people(server, 6)
    first, *waiting = crowd
    with scripted_node(server, capacity=1, tokens=30, interval=0.05):
        send(server, first, first["dialogs"][0], "Долгий ответ")
        for person in waiting:
            send(server, person, person["dialogs"][0], "Я подожду")
        time.sleep(0.5)
        send(server, first, first["dialogs"][0], "", action="stop")
        assert_answered_once(server, [p["dialogs"][0] for p in waiting])
        stopped = dialog_messages(server, first["dialogs"])[first["dialogs"][0]]
        assert stopped[-1] == ("assistant", "cancelled")


def test_bootstrap_while_serving_leaves_live_replies_alone(server):
    crowd = people(server, 6)
    with scripted_node(server, capacity=2, tokens=30, interval=0.05):
        send_all(server, crowd, "Привет")
        time.sleep(0.5)
        output = server.flask("bootstrap")  # a second web process starting up
        assert "asked for again" not in output
        assert_answered_once(server, [p["dialogs"][0] for p in crowd])


def test_redis_paused_pages_say_so_fast_and_messages_are_kept_and_answered(server):
    crowd = people(server, 3)
    with scripted_node(server, capacity=2, tokens=20, interval=0.05):
        server.redis.send_signal(signal.SIGSTOP)
        try:
            took, status, report = timed_health(server)
            assert status == 503 and report["redis"] == "error" and report["db"] == "ok"
            assert took < 2.5, took  # answered, not hung
            send_all(server, crowd, "Ты тут?")  # sent while Redis hangs: stored all the same
        finally:
            server.redis.send_signal(signal.SIGCONT)
        assert_answered_once(server, [p["dialogs"][0] for p in crowd])
        wait_until(lambda: timed_health(server)[1] == 200, seconds=20)


def test_two_web_processes_with_a_node_each_share_one_queue(server):
    other, other_url = server.another_web_process(server.instance / "second.log")
    try:
        crowd = people(server, 8)
        other_ws = other_url.replace("http://", "ws://")
        with (
            scripted_node(server, capacity=1, tokens=20, interval=0.05),
            scripted_node(server, capacity=1, tokens=20, interval=0.05, ws_url=other_ws),
        ):
            wait_until(lambda: owners(server) == 2, seconds=20)  # a node on each process
            send_all(server, crowd, "Кто ответит?")
            assert_answered_once(server, [p["dialogs"][0] for p in crowd])
            # The status is the deployment's: both processes report the same, steadily.
            samples = [health(server).get("ai") for _ in range(10)]
            samples += [json.loads(wait_for(other_url + "/healthz")).get("ai") for _ in range(10)]
            assert set(samples) == {"online"}
    finally:
        other.terminate()
        other.wait(timeout=15)


def test_redis_restarted_empty_mid_reply_loses_no_reply(server):
    crowd = people(server, 6)
    with scripted_node(server, capacity=2, tokens=40, interval=0.05):
        send_all(server, crowd, "Привет")
        time.sleep(0.5)
        server.redis.stop()  # everything Redis held is gone: partial texts, status, events
        time.sleep(1)
        server.redis.start()
        assert_answered_once(server, [p["dialogs"][0] for p in crowd])
        wait_until(lambda: health(server).get("status") == "ok", seconds=20)


def test_the_node_killed_twice_in_one_reply_and_the_reply_still_comes(server):
    crowd = people(server, 3)
    for round_ in range(3):
        with scripted_node(server, capacity=4, tokens=40, interval=0.05) as node:
            if round_ == 0:
                send_all(server, crowd, "Ответь целиком")
            if round_ < 2:
                time.sleep(0.8)  # mid-reply
                node.kill()  # the link drops: the replies go back in line, a try each
                continue
            assert_answered_once(server, [p["dialogs"][0] for p in crowd])


def test_the_node_link_moving_to_another_web_process_loses_nothing(server):
    other, other_url = server.another_web_process(server.instance / "moved.log")
    try:
        crowd = people(server, 4)
        with scripted_node(server, capacity=2, tokens=40, interval=0.05) as node:
            send_all(server, crowd, "Кто дослушает?")
            time.sleep(0.8)
            node.kill()  # mid-reply: the node comes back, linked to the other process
        other_ws = other_url.replace("http://", "ws://")
        with scripted_node(server, capacity=2, tokens=40, interval=0.05, ws_url=other_ws):
            assert_answered_once(server, [p["dialogs"][0] for p in crowd])
    finally:
        other.terminate()
        other.wait(timeout=15)


def test_database_connections_dropped_mid_reply_lose_nothing(server):
    if "DATABASE_URL" not in server.env:
        pytest.skip("SQLite has no connection to drop")
    import pymysql

    name = server.env["DATABASE_URL"].rsplit("/", 1)[1]
    crowd = people(server, 6)
    with scripted_node(server, capacity=2, tokens=40, interval=0.05):
        send_all(server, crowd, "Привет")
        time.sleep(0.5)
        admin = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
        with admin.cursor() as cursor:  # every connection the site holds, as a restart would
            cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s", (name,))
            held = cursor.fetchall()
            for (connection_id,) in held:
                with contextlib.suppress(pymysql.MySQLError):  # gone already
                    cursor.execute(f"KILL {int(connection_id)}")
        admin.close()
        assert held  # the site held connections, and lost them all
        assert_answered_once(server, [p["dialogs"][0] for p in crowd])


def test_the_pc_killed_is_a_high_alert_within_45_s_and_its_return_ends_it(server):
    """The most likely real failure: the home PC (or its link) goes. The web process notices in
    its monitoring round; the admins are paged (every channel: tests/inference/test_link_alert)."""
    from sqlalchemy import select

    from webapp.monitoring.models import Alert

    def link_alert():
        with server.sessions() as session:
            return session.scalars(
                select(Alert).where(Alert.key == "ai:link").order_by(Alert.id.desc())
            ).first()

    with scripted_node(server, capacity=1, tokens=4, interval=0.01) as node:
        health(server)  # a request: the web process's collector runs from its first one
        wait_until(lambda: health(server).get("ai") == "online", seconds=20)
        node.kill()
        killed = time.monotonic()
        wait_until(lambda: (a := link_alert()) is not None and a.state == "firing", seconds=60)
        assert time.monotonic() - killed <= 45
        assert link_alert().severity == "high"
    with scripted_node(server, capacity=1, tokens=4, interval=0.01):
        wait_until(lambda: link_alert().state == "resolved", seconds=30)


# Keep this one last in the file: it stops the module's server for good.
def test_the_whole_web_stopped_and_started_with_bootstrap_loses_no_reply(server):
    crowd = people(server, 6)
    with scripted_node(server, capacity=2, tokens=40, interval=0.05):
        send_all(server, crowd, "Привет")
        time.sleep(0.5)
        for pid in [*web_workers(server), server.process.pid]:  # power loss: nobody says bye
            os.kill(pid, signal.SIGKILL)
        server.process.wait()
    output = server.flask("bootstrap")  # as the web unit's ExecStartPre does
    assert "asked for again" not in output  # queued and leased jobs are the queue's
    again, url = server.another_web_process(server.instance / "restarted.log")
    try:
        with scripted_node(
            server, capacity=2, tokens=40, interval=0.05, ws_url=url.replace("http", "ws")
        ):
            assert_answered_once(server, [p["dialogs"][0] for p in crowd])
    finally:
        again.terminate()
        again.wait(timeout=15)
