"""/ws/chat/<dialog>: the live chat of one dialog on one device.

Browser -> server (JSON from the htmx ws extension): {"message", "client_id"} to send,
{"action": "hello", "last_id"} on every (re)connect, {"action": "stop" | "retry"},
{"action": "seen", "upto"}, {"action": "draft", "message"} every 10 s while typing,
{"action": "maintenance_ack", "window", "message"} when told of a stop. Server -> browser: HTML
fragments swapped out of band. Every device showing the dialog listens on the dialog's bus
channel, so they all stay in step; every socket also hears ended sessions (its own: the socket
closes) and the maintenance channel (start, then close).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from simple_websocket import ConnectionClosed

from webapp.auth.cookies import ACCESS_COOKIE
from webapp.auth.sessions import SESSION_EVENTS, authenticate_access
from webapp.auth.tokens import TokenInvalid
from webapp.bus import SubscriptionClosed
from webapp.characters.models import Character
from webapp.chat import drafts, editing, events, rendering, replies, sending, service
from webapp.chat import favorites as fav
from webapp.chat.access import may_chat, may_send_now
from webapp.chat.errors import ChatError, DialogNotFound
from webapp.chat.models import OPEN_REPLY, Role
from webapp.chat.streams import ReplyStreams
from webapp.db import utcnow
from webapp.extensions import db, get_bus, get_settings, limiter, sock
from webapp.forms import MAX_ID
from webapp.inference.runtime import get_dispatcher
from webapp.inference.status import read_status
from webapp.maintenance import flag as maintenance_flag
from webapp.monitoring.presence import OPEN_SOCKETS
from webapp.websocket import CLOSE_POLICY, FrameBudget

log = logging.getLogger(__name__)
bp = Blueprint("chat_socket", __name__)

CLOSE_UNAUTHORISED = 4401  # the page's script refreshes the tokens, then reconnects
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SERVICE_RESTART = 1012  # maintenance: the page's script waits and reconnects after it
MAX_FRAME = 16 * 1024  # the WebSocket layer closes (1009) on a larger one before buffering it
MAX_BATCH = 64  # bus events folded into one socket frame
RECEIVE_WAIT = 30.0
# A page sends a hello per connect, a draft every 10 s and a few seen/send frames: 20 at once
# and 5 a second after that are far beyond it. A flood gets one notice, then the socket closes.
FRAME_BURST, FRAME_RATE = 20, 5.0
HELLO_EVERY = 1.0  # a hello resyncs (up to a page of messages): one a second, the newest wins
SEEN_EVERY = 2.0  # read receipts are written at most this often (the newest one wins)
READ_ONLY_ACTIONS = ("hello", "draft", "maintenance_ack")  # they write to the bus, not the DB


def origin_allowed() -> bool:
    """Only our own pages may open the socket (browsers always send Origin on WebSockets)."""
    origin = urlsplit(request.headers.get("Origin", ""))
    allowed = {request.host, urlsplit(get_settings().base_url).netloc}
    return bool(origin.netloc) and origin.netloc in allowed


@sock.route("/ws/chat/<int:dialog_id>", bp=bp)
@limiter.exempt
def chat_socket(ws, dialog_id: int):
    if not origin_allowed():
        ws.close(CLOSE_FORBIDDEN, "origin")
        return
    try:
        user, device_session = authenticate_access(
            db.session, get_settings(), request.cookies.get(ACCESS_COOKIE, ""), utcnow()
        )
        dialog = service.get_dialog(db.session, user.id, dialog_id)
    except TokenInvalid:
        db.session.remove()
        ws.close(CLOSE_UNAUTHORISED, "auth")
        return
    except DialogNotFound:
        db.session.remove()
        ws.close(CLOSE_NOT_FOUND, "dialog")
        return
    if not may_chat(user):
        ws.close(CLOSE_FORBIDDEN, "blocked")
        return
    # The socket never refreshes tokens (it cannot set cookies): current_user is this user, fixed.
    g._login_user = user
    db.session.commit()
    OPEN_SOCKETS.opened(user.id)
    # Every web process with people waiting runs a dispatcher: with nodes it serves the queue,
    # without any it still ends jobs that waited too long and re-queues lapsed leases.
    get_dispatcher(current_app._get_current_object())
    try:
        ChatSocket(ws, user, device_session.id, dialog.id, dialog.character_id).run()
    finally:
        OPEN_SOCKETS.closed(user.id)


@dataclass(frozen=True)
class Shown:
    """A message as one event showed it: what the socket needs to follow its stream, and its
    HTML, the same for every device of the person (one dialog channel, one star state)."""

    id: int
    role: str
    status: str
    job_id: str | None
    html: str


class _ShownCache:
    """The last few events' renderings, keyed by (event, locale, time zone): a person's second
    device reuses the first one's query and template instead of doing both again."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Shown] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple | None) -> Shown | None:
        if key is None:
            return None
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple | None, shown: Shown) -> None:
        if key is None:
            return
        with self._lock:
            self._items[key] = shown
            while len(self._items) > self.size:
                self._items.popitem(last=False)


SHOWN = _ShownCache()


class ChatSocket:
    def __init__(self, ws, user, session_id: str, dialog_id: int, character_id: int) -> None:
        self.ws = ws
        self.user = user
        self.user_id = user.id
        self.user_name = user.display_name
        self.environ = dict(request.environ)
        self.session_id = session_id
        self.dialog_id = dialog_id
        self.character_id = character_id
        self.bus = get_bus()
        self.app = current_app._get_current_object()
        self.last_id = 0  # the newest message this device has
        self.send_lock = threading.Lock()
        self.outbox: list[str] = []
        self.db_open = False  # the pump's read-only transaction (see _reading)
        self.closed = threading.Event()
        self.budget = FrameBudget(FRAME_BURST, FRAME_RATE)
        self.hello_at = -HELLO_EVERY
        self.hello_pending: int | None = None  # a hello that came within HELLO_EVERY of the last
        self.seen_upto = self.seen_saved = 0  # read receipts: asked for, and written
        self.seen_at = -SEEN_EVERY
        self.subscription = self.bus.subscribe(
            events.dialog_channel(dialog_id), SESSION_EVENTS, maintenance_flag.CHANNEL
        )
        db.read_only()
        character = db.session.get(Character, character_id)
        filters = list(character.filters or []) if character else []
        db.session.remove()  # the socket lives long: it holds no transaction while waiting
        self.streams = ReplyStreams(
            self.bus, self.subscription, filters, self.send, self._send_ai_state, self._reading
        )

    # ----- plumbing ---------------------------------------------------------------------------
    def send(self, html: str) -> None:
        """Queue a fragment; flush() sends after the DB work is over (see there)."""
        if html:
            self.outbox.append(html)

    def flush(self) -> None:
        # Sending can wait on a slow client. Callers end their transaction first: on SQLite an
        # open one would hold the write lock, and every other socket would wait for it.
        with self.send_lock:
            frames, self.outbox = self.outbox, []
            if frames:
                self.ws.send("".join(frames))

    def run(self) -> None:
        pump = threading.Thread(target=self._pump, daemon=True)
        pump.start()
        try:
            while not self.closed.is_set():
                # A frame, the client's close, or every RECEIVE_WAIT seconds a look at `closed`
                # (set by the pump when it closed the socket): idle sockets seldom wake. A read
                # receipt held back wakes the loop when it is due.
                frame = self.ws.receive(timeout=self._next_wake())
                if frame is None:
                    pass
                elif self.budget.take():
                    self._on_frame(frame)
                else:
                    self._flooded()
                self._hello_if_due()
                self._save_seen()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._save_seen(force=True)
            self.subscription.close()
            pump.join(timeout=3)
            db.session.remove()

    def _pump(self) -> None:
        # Its own request context (same cookies: same language) for templates in this thread.
        with self.app.request_context(self.environ):
            g._login_user = self.user
            while not self.closed.is_set():
                # No timeout: a thousand idle sockets never wake up for nothing, and closing the
                # subscription (when the socket ends) ends the wait at once.
                try:
                    item = self.subscription.get(timeout=None)
                except SubscriptionClosed:  # run() closed it: the socket is gone
                    return
                try:
                    self._on_event(*item)
                    # Whatever else is already waiting goes out in the same frame: under load
                    # ten deltas cost one send instead of ten, and at low load nothing waits.
                    for _ in range(MAX_BATCH):
                        more = self.subscription.get()
                        if more is None:
                            break
                        self._on_event(*more)
                    self._done_reading()
                    self.flush()
                except (ConnectionClosed, SubscriptionClosed):
                    self.closed.set()
                except Exception:
                    log.exception("chat socket event failed")
                finally:
                    self._done_reading()

    # Most events (a streamed token) need no database; those that do only read it. The pump
    # opens a read-only transaction on the first such event and ends it before sending.
    def _reading(self) -> None:
        if not self.db_open:
            db.read_only()
            self.db_open = True

    def _done_reading(self) -> None:
        if self.db_open:
            db.session.remove()
            self.db_open = False

    # ----- from the bus -----------------------------------------------------------------------
    def _on_event(self, channel: str, event: dict[str, Any]) -> None:
        if channel == SESSION_EVENTS:
            if event.get("session_id") == self.session_id:
                self.closed.set()
                self.ws.close(CLOSE_UNAUTHORISED, "session ended")
            return
        if channel.startswith("inference:job:"):
            self.streams.on_event(event)
            return
        if channel == maintenance_flag.CHANNEL:
            self._on_maintenance(event)
            return
        if event["type"] == "message":  # the dialog's channel: always this dialog's
            self._show_message(int(event["message_id"]), event.get("change"), event.get("message"))
        elif event["type"] == "removed":
            self.send(rendering.remove(int(event["message_id"])))

    def _on_maintenance(self, event: dict[str, Any]) -> None:
        """maintenance_start: tell the person, and the page acknowledges with its draft;
        maintenance_close: the stop goes on, the socket closes (not in a rehearsal)."""
        if event["type"] == "maintenance_start":
            self.send(render_template("chat/_maintenance.html", event=event))
        elif event["type"] == "maintenance_close" and not event.get("rehearsal"):
            self._done_reading()
            self.flush()
            self.closed.set()
            self.ws.close(CLOSE_SERVICE_RESTART, "maintenance")

    def _show_message(
        self, message_id: int, change: str | None = None, carried: dict | None = None
    ) -> None:
        key = (change, str(get_locale()), str(get_timezone())) if change else None
        message = SHOWN.get(key)
        if message is None:
            if carried is not None:  # a new message, whole in its event: nothing to read
                row, starred = events.MessageView.from_event(carried), False
            else:
                self._reading()
                found = fav.message_with_star(db.session, self.user_id, message_id)
                if found is None:
                    return
                row, starred = found
            message = Shown(
                row.id, row.role, row.status, row.job_id, rendering.message_html(row, starred)
            )
            SHOWN.put(key, message)
        html = message.html
        if message_id > self.last_id:
            self.last_id = message_id
            self.send(rendering.append_messages([html]))
        else:
            self.send(rendering.replace_message(html))
        if message.role == Role.ASSISTANT:  # a reply asked for or ended: how the AI is doing
            self._send_ai_state()  # (a waiting reply's place, sent by streams.follow, comes after)
        if message.status in OPEN_REPLY and message.job_id:
            self.streams.follow(message.job_id, message.id)
        elif message.job_id in self.streams:
            self.streams.unfollow(message.job_id)

    def _send_ai_state(self, **extra: Any) -> None:
        html = render_template("chat/_ai_state.html", ai=read_status(self.bus), **extra)
        self.send(rendering.ai_state(html))

    # ----- from the browser -------------------------------------------------------------------
    def _flooded(self) -> None:
        log.warning("chat socket of user %s sent too many frames: closed", self.user_id)
        self.send(rendering.notice(_("Слишком много запросов. Подождите немного.")))
        self.flush()
        self.closed.set()
        self.ws.close(CLOSE_POLICY, "too many frames")

    def _on_frame(self, frame: str | bytes) -> None:
        try:
            if len(frame) > MAX_FRAME:
                raise ValueError("too big")
            data = json.loads(frame)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            action = data.get("action")
            if action == "seen":  # coalesced: written by _save_seen when due
                self.seen_upto = max(self.seen_upto, _number(data.get("upto")))
                return
            if action == "hello":  # answered at most once a second: a second one waits its turn
                self.hello_pending = _number(data.get("last_id"))
                self._hello_if_due()
                return
        except ValueError:
            self.send(rendering.notice(_("Непонятный запрос: обновите страницу.")))
            self.flush()
            return
        self._run(data)

    def _next_wake(self) -> float:
        """How long the receive loop may wait: a held-back hello or read receipt wakes it."""
        now, wait = time.monotonic(), RECEIVE_WAIT
        if self.hello_pending is not None:
            wait = min(wait, self.hello_at + HELLO_EVERY - now)
        if self.seen_upto > self.seen_saved:
            wait = min(wait, self.seen_at + SEEN_EVERY - now)
        return max(0.01, wait)

    def _hello_if_due(self) -> None:
        if self.hello_pending is None or time.monotonic() < self.hello_at + HELLO_EVERY:
            return
        last_id, self.hello_pending = self.hello_pending, None
        self.hello_at = time.monotonic()
        self._run({"action": "hello", "last_id": last_id})

    def _run(self, data: dict[str, Any]) -> None:
        """One action in its own transaction; whatever goes wrong, the socket stays open."""
        try:
            if data.get("action") in READ_ONLY_ACTIONS:
                db.read_only()  # on SQLite: no queueing for the write lock
            self._act(data)
            db.session.commit()
        except ChatError as exc:
            db.session.rollback()
            self.send(rendering.notice(str(exc)))
        except (ValueError, TypeError):  # e.g. "last_id": "abc" — not our protocol
            db.session.rollback()
            self.send(rendering.notice(_("Непонятный запрос: обновите страницу.")))
        except Exception:
            # Whatever went wrong with this frame, the socket stays open for the next one.
            log.exception("chat frame failed")
            db.session.rollback()
            self.send(rendering.notice(_("Не получилось. Попробуйте ещё раз.")))
        finally:
            db.session.remove()
            self.flush()

    def _act(self, data: dict[str, Any]) -> None:
        action = data.get("action") or ("send" if "message" in data else "")
        # Counted before the transaction begins: the limiter's in-memory storage may start its
        # expiry timer thread, and waiting for a thread to start must not hold the write lock.
        if action == "send" and not may_send_now(self.user_id):
            self.send(rendering.notice(_("Не больше 20 сообщений в минуту. Подождите немного.")))
            return
        dialog = service.get_dialog(db.session, self.user_id, self.dialog_id)
        if action == "hello":
            self._resync(_number(data.get("last_id")))
        elif action == "send":
            self._send_message(dialog, _text(data.get("message")), _text(data.get("client_id")))
        elif action == "stop":
            replies.stop_reply(db.session, self.bus, dialog)
        elif action == "retry":
            self._reply(dialog)
        elif action == "draft":
            drafts.save(self.bus, self.user_id, self.dialog_id, _text(data.get("message")))
        elif action == "maintenance_ack":
            drafts.save(self.bus, self.user_id, self.dialog_id, _text(data.get("message")))
            maintenance_flag.acknowledge(self.bus, _number(data.get("window")), self.session_id)
        else:
            self.send(rendering.notice(_("Непонятный запрос: обновите страницу.")))

    def _save_seen(self, force: bool = False) -> None:
        """Write the newest read receipt asked for, at most every SEEN_EVERY seconds."""
        upto, now = self.seen_upto, time.monotonic()
        if upto <= self.seen_saved or (not force and now - self.seen_at < SEEN_EVERY):
            return
        self.seen_saved, self.seen_at = upto, now
        try:
            dialog = service.get_dialog(db.session, self.user_id, self.dialog_id)
            service.mark_seen(db.session, dialog, upto, utcnow())
            db.session.commit()
        except Exception:  # a receipt is not worth the socket: the next one covers it
            log.warning("read receipt not saved", exc_info=True)
            db.session.rollback()
        finally:
            db.session.remove()

    def _resync(self, last_id: int) -> None:
        """A (re)connected device: what it missed, then the live replies where they stand."""
        self.last_id = max(self.last_id, last_id)
        missed = service.messages_after(db.session, self.dialog_id, self.last_id)
        starred = fav.starred_ids(db.session, self.user_id, [m.id for m in missed])
        if missed:
            self.last_id = missed[-1].id
            self.send(
                rendering.append_messages(
                    [rendering.message_html(m, m.id in starred) for m in missed]
                )
            )
        self._send_ai_state()
        for reply in service.open_replies(db.session, self.dialog_id):
            if reply.job_id:
                self.streams.follow(reply.job_id, reply.id)

    def _send_message(self, dialog, text: str, client_id: Any) -> None:
        client_id = str(client_id or "")[:40]
        sent = sending.send_message(
            db.session,
            self.bus,
            dialog,
            user_id=self.user_id,
            user_name=self.user_name,
            text=text,
            client_id=client_id,
            now=utcnow(),
        )
        if client_id:  # stored (committed): this device may clear its box
            self.send(rendering.acknowledge(client_id))
        if sent.cut:
            self.send(rendering.notice(str(sending.CUT_NOTICE)))
        if sent.paused:
            self.send(rendering.notice(sent.paused))

    def _reply(self, dialog) -> None:
        editing.retry(db.session, self.bus, dialog, editing.Asker(self.user_name, utcnow()))


def _number(value: Any) -> int:
    """A frame's id field: a whole number (or absent, 0); anything else is not our protocol."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("not a number")
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def _text(value: Any) -> str:
    """A frame's text field: a string (or absent, empty); a number, list or object is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value
