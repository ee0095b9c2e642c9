"""Tunnel mode: the VDS dials the node (pc_node --listen) through the reverse SSH tunnel."""

from __future__ import annotations

import logging
import threading

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from pc_node.link import KEY_HEADER, backoff_delays
from webapp.inference.dispatcher import Dispatcher
from webapp.inference.link import LinkClosed, serve_link

log = logging.getLogger(__name__)


def dial_node(url: str, api_key: str, dispatcher: Dispatcher, stop: threading.Event) -> None:
    """Keep one link to the node at `url` open until `stop`, reconnecting with backoff."""
    delays = backoff_delays()
    while not stop.is_set():
        try:
            with connect(
                url,
                additional_headers={KEY_HEADER: f"Bearer {api_key}"},
                open_timeout=10,
                ping_interval=None,
                max_size=2**20,
            ) as connection:
                delays = backoff_delays()

                def receive(timeout: float, connection=connection):
                    if stop.is_set():
                        raise LinkClosed()
                    try:
                        return connection.recv(timeout=timeout)
                    except TimeoutError:
                        return None
                    except ConnectionClosed:
                        raise LinkClosed() from None

                serve_link(dispatcher, receive, connection.send, connection.close)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            log.warning("cannot reach the node at %s: %s", url, exc)
        if not stop.is_set():
            stop.wait(next(delays))
