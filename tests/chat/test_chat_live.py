"""The live chat against the real server: gunicorn + gevent, /ws/chat, a scripted pc_node."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.parse
import urllib.request

import pytest
from websockets.sync.client import connect

from pc_node.link import dial_forever
from pc_node.node import NodeRunner
from tests.fakes import ScriptedEngine
from tests.live import ai_state, live_server, wait_until


class Browser:
    """Just enough of a browser: a cookie jar, forms with their CSRF token, and sockets."""

    def __init__(self, server) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.server.url + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, form_page: str, **data: str) -> str:
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"|'
            r'name="csrf_token" value="([^"]+)"',
            self.get(form_page),
        )
        data["csrf_token"] = token.group(1) or token.group(2)
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.server.url + path, body, timeout=10) as response:
            return response.url

    def socket(self, dialog_id: int, origin: str | None = None):
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        return connect(
            f"{self.server.ws_url}/ws/chat/{dialog_id}",
            additional_headers={"Cookie": cookies},
            origin=origin or self.server.url,
            open_timeout=10,
        )


def frames_until(ws, pattern: str, seconds: float = 10) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = ws.recv(timeout=0.2)
        except TimeoutError:
            continue
        got.append(frame)
        if re.search(pattern, frame):
            return got
    raise AssertionError(f"no frame matching {pattern!r}; got {got}")


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("chat-live")) as server:
        gate = threading.Semaphore(0)
        engine = ScriptedEngine(["Рада ", "тебя ", "видеть!"], gate=gate)
        stop = threading.Event()
        key = (server.instance / "node.key").read_text().strip()
        node = threading.Thread(
            target=dial_forever,
            args=(server.ws_url + "/node/ws", key, NodeRunner(engine, node_id="fake"), stop),
            daemon=True,
        )
        node.start()
        wait_until(lambda: ai_state(server) == "online")
        server.gate = gate
        server.engine = engine
        password = server.flask("create-admin", "--email", "live@example.ru").rsplit(": ", 1)[1]
        server.login = ("live@example.ru", password.strip())
        yield server
        stop.set()
        node.join(timeout=10)


def signed_in(server) -> Browser:
    browser = Browser(server)
    email, password = server.login
    browser.post("/login", "/login", email=email, password=password)
    return browser


def reused(server) -> Browser:
    """One signed-in browser for the tests that need no second device: every sign-in is a
    device session of the one account, and a sixth one asks which to end."""
    if getattr(server, "browser", None) is None:
        server.browser = signed_in(server)
    return server.browser


def new_dialog(browser) -> int:
    character_id = re.search(r'href="/characters/(\d+)">Алиса<', browser.get("/")).group(1)
    url = browser.post(f"/characters/{character_id}/dialogs", f"/characters/{character_id}")
    return int(url.rsplit("/", 1)[1])


def test_send_stream_second_device_and_reconnect_mid_reply(chat_server):
    phone, laptop = signed_in(chat_server), signed_in(chat_server)
    dialog_id = new_dialog(phone)
    with phone.socket(dialog_id) as ws, laptop.socket(dialog_id) as other:
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        greeting = frames_until(ws, r"beforeend:#messages")
        assert "Добро пожаловать" in "".join(greeting) or "Привет" in "".join(greeting)
        other.send(json.dumps({"action": "hello", "last_id": 10**9}))
        frames_until(other, r'id="ai-state"')

        ws.send(json.dumps({"message": "<b>Привет</b>", "client_id": "c-1"}))
        mine = "".join(frames_until(ws, r"msg-assistant open"))
        assert "&lt;b&gt;Привет&lt;/b&gt;" in mine
        reply_id = re.search(r'msg-assistant open" id="m-(\d+)"', mine).group(1)
        theirs = "".join(frames_until(other, r"msg-assistant open"))
        assert "&lt;b&gt;Привет" in theirs

        chat_server.gate.release()
        first = frames_until(ws, rf"beforeend:#b-{reply_id}")[-1]
        assert "Рада " in first
        frames_until(other, rf"beforeend:#b-{reply_id}")

    # A third connection joins mid-reply: it gets the text so far, then only what follows.
    with phone.socket(dialog_id) as again:
        again.send(json.dumps({"action": "hello", "last_id": int(reply_id)}))
        resync = "".join(frames_until(again, rf"innerHTML:#b-{reply_id}"))
        assert "Рада " in resync
        chat_server.gate.release()
        chat_server.gate.release()
        done = rf'id="m-{reply_id}"[^>]*>\s*<div class="body"><p>Рада тебя видеть!</p>'
        rest = "".join(frames_until(again, done))
        assert f'beforeend:#b-{reply_id}">Рада ' not in rest  # the early text is not sent twice
        assert f'beforeend:#b-{reply_id}">тебя ' in rest

    page = phone.get(f"/chat/{dialog_id}")
    assert "Рада тебя видеть!" in page and "✓✓" in page


def test_foreign_origin_and_bad_frames(chat_server):
    browser = reused(chat_server)
    dialog_id = new_dialog(browser)
    with browser.socket(dialog_id, origin="https://evil.example") as ws:
        with pytest.raises(Exception):  # noqa: B017 - closed by the server, any close error
            ws.recv(timeout=5)
        assert ws.close_code == 4403
    with browser.socket(dialog_id) as ws:
        ws.send("not json at all")
        assert "Непонятный запрос" in frames_until(ws, "chat-notice")[-1]
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        frames_until(ws, "beforeend:#messages")  # still open and answering
        ws.send(json.dumps({"message": "   "}))
        assert "Сообщение пустое" in frames_until(ws, "chat-notice")[-1]
        ws.send(json.dumps({"action": "hello", "last_id": "abc"}))
        assert "Непонятный запрос" in frames_until(ws, "chat-notice")[-1]
        ws.send(json.dumps({"action": "launch-missiles"}))
        assert "Непонятный запрос" in frames_until(ws, "chat-notice")[-1]
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        frames_until(ws, "ai-state")  # and it still answers


def test_someone_elses_dialog_socket_is_refused(chat_server):
    owner, stranger = signed_in(chat_server), Browser(chat_server)
    dialog_id = new_dialog(owner)
    with stranger.socket(dialog_id) as ws:  # not signed in at all
        with pytest.raises(Exception):  # noqa: B017
            ws.recv(timeout=5)
        assert ws.close_code == 4401


def test_ending_the_device_session_closes_its_socket_within_3_seconds(chat_server):
    browser = signed_in(chat_server)
    dialog_id = new_dialog(browser)
    with browser.socket(dialog_id) as ws:
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        frames_until(ws, "beforeend:#messages")
        browser.post("/logout", "/")
        started = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017 - the server closes the socket
            while True:
                ws.recv(timeout=3)
        assert ws.close_code == 4401
        assert time.monotonic() - started < 3


def test_content_filters_mask_the_stream_word_by_word(chat_server):
    """A socket of a filtered character never shows a masked word, even while it streams."""
    import sqlite3

    browser = reused(chat_server)
    dialog_id = new_dialog(browser)
    database = sqlite3.connect(chat_server.instance / "mehhost.db")
    with database:
        database.execute(
            "UPDATE characters SET filters = '[\"profanity\"]' WHERE id = "
            "(SELECT character_id FROM dialogs WHERE id = ?)",
            (dialog_id,),
        )
    database.close()
    chat_server.engine.reply = ["Ну ", "ты и су", "ка, ", "друг!"]
    try:
        with browser.socket(dialog_id) as ws:
            ws.send(json.dumps({"action": "hello", "last_id": 0}))
            frames_until(ws, "beforeend:#messages")
            ws.send(json.dumps({"message": "ну?", "client_id": "f-1"}))
            for _ in range(4):
                chat_server.gate.release()
            seen = "".join(frames_until(ws, r"с\*\*\*, друг!</p>"))
    finally:
        chat_server.engine.reply = ["Рада ", "тебя ", "видеть!"]
    assert "сука" not in seen and "су</span>" not in seen
    database = sqlite3.connect(chat_server.instance / "mehhost.db")
    with database:
        database.execute("UPDATE characters SET filters = '[]'")
    database.close()


def _worker_rss(server) -> int:
    import psutil

    (worker,) = psutil.Process(server.process.pid).children()
    return worker.memory_info().rss


def _health_latencies(server, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            response.read()
        out.append(time.monotonic() - started)
        time.sleep(0.02)


def test_a_flood_of_frames_closes_that_socket_and_nobody_else_waits(chat_server):
    from websockets.exceptions import ConnectionClosed

    browser = reused(chat_server)
    dialog_id = new_dialog(browser)
    stop, latencies = threading.Event(), []
    prober = threading.Thread(target=_health_latencies, args=(chat_server, stop, latencies))
    prober.start()
    time.sleep(0.3)
    try:
        with browser.socket(dialog_id) as ws:
            hello = json.dumps({"action": "hello", "last_id": 0})
            seen = json.dumps({"action": "seen", "upto": 1})
            with pytest.raises(ConnectionClosed):
                for number in range(1000):
                    ws.send(hello if number % 2 else seen)
                for _ in range(200):
                    ws.recv(timeout=5)
            assert ws.close_code == 1008
        time.sleep(0.5)
    finally:
        stop.set()
        prober.join()
    latencies.sort()
    assert len(latencies) >= 10
    assert latencies[len(latencies) // 2] < 0.1, latencies  # the median, on a shared machine
    # And the person gets back in at once (the page's script reconnects after a pause).
    with browser.socket(dialog_id) as ws:
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        frames_until(ws, "ai-state")


def test_a_huge_frame_closes_the_socket_before_it_is_buffered(chat_server):
    from websockets.exceptions import ConnectionClosed

    browser = reused(chat_server)
    dialog_id = new_dialog(browser)
    before = _worker_rss(chat_server)
    with browser.socket(dialog_id) as ws:
        with pytest.raises(ConnectionClosed):
            ws.send("x" * (2 * 1024 * 1024))
            ws.recv(timeout=5)
        assert ws.close_code == 1009
    assert _worker_rss(chat_server) - before < 10 * 1024 * 1024


def test_frame_fields_of_the_wrong_type_store_nothing(chat_server):
    browser = reused(chat_server)
    dialog_id = new_dialog(browser)
    with browser.socket(dialog_id) as ws:
        for bad in ({"message": None}, {"message": {"a": 1}}, {"message": 5}):
            ws.send(json.dumps(bad))
            notice = frames_until(ws, "chat-notice")[-1]
            assert "Непонятный запрос" in notice or "Сообщение пустое" in notice
        ws.send(json.dumps({"action": "hello", "last_id": 0}))
        frames = "".join(frames_until(ws, "ai-state"))
    assert "None" not in frames and "{&#39;a&#39;: 1}" not in frames
    with chat_server.sessions() as session:
        from sqlalchemy import select

        from webapp.chat.models import Message

        texts = session.scalars(select(Message.text).where(Message.dialog_id == dialog_id)).all()
    assert not any(t in ("None", "{'a': 1}", "5") for t in texts)
