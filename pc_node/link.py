"""Keeping the link to the VDS up: dial it (normal mode) or listen for it (reverse SSH tunnel)."""

from __future__ import annotations

import hmac
import logging
import random
import threading
from collections.abc import Callable
from http import HTTPStatus

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import Server, ServerConnection, serve

from pc_node.node import NodeRunner

log = logging.getLogger(__name__)

KEY_HEADER = "Authorization"
MAX_BACKOFF = 30.0


def backoff_delays(first: float = 1.0, cap: float = MAX_BACKOFF):
    """Exponential backoff with full jitter: 1, 2, 4 ... 30 s, each scaled by 0.5-1.0."""
    delay = first
    while True:
        yield delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto
        delay = min(delay * 2, cap)


def keep_dialing(
    url: str, api_key: str, serve: Callable[[ClientConnection], None], stop: threading.Event
) -> None:
    """Connect to `url` with the API key, hand the connection to `serve`, and after any loss
    connect again with backoff, until `stop`. Both ends use it: the node dialing the VDS, and
    the VDS dialing a listening node through the tunnel."""
    delays = backoff_delays()
    while not stop.is_set():
        try:
            with connect(
                url,
                additional_headers={KEY_HEADER: f"Bearer {api_key}"},
                open_timeout=10,
                ping_interval=None,  # the protocol has its own ping/pong
                # Frames are one token each: deflate saves a few bytes a second and costs both
                # ends a compressor per frame (the VDS relays thousands a second under load).
                compression=None,
                max_size=2**20,
            ) as connection:
                log.info("linked to %s", url)
                delays = backoff_delays()  # a session that opened resets the backoff
                serve(connection)
        except InvalidURI as exc:
            raise SystemExit(f"bad link URL: {exc}") from None
        except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as exc:
            log.warning("link to %s lost or refused: %s", url, exc)
        if not stop.is_set():
            stop.wait(next(delays))


def dial_forever(url: str, api_key: str, runner: NodeRunner, stop: threading.Event) -> None:
    """Normal mode: the node dials the VDS and serves jobs until `stop`."""
    keep_dialing(url, api_key, lambda connection: runner.serve(connection, stop), stop)


def listen(host: str, port: int, api_key: str, runner: NodeRunner) -> Server:
    """Wait for the VDS to dial in (through the reverse SSH tunnel); one session at a time."""
    expected = f"Bearer {api_key}"

    def check_key(connection: ServerConnection, request):
        presented = request.headers.get(KEY_HEADER, "")
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad API key\n")
        return None

    def handle(connection: ServerConnection) -> None:
        log.info("VDS dialed in from %s", connection.remote_address)
        try:
            runner.serve(connection)
        except ConnectionClosed:
            log.info("VDS hung up")

    return serve(
        handle,
        host,
        port,
        process_request=check_key,
        ping_interval=None,
        compression=None,  # as when dialing (keep_dialing)
        max_size=2**20,
    )
