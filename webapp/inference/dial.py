"""Tunnel mode: the VDS dials the node (pc_node --listen) through the reverse SSH tunnel."""

from __future__ import annotations

import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from pc_node.link import keep_dialing
from webapp.inference.dispatcher import Dispatcher
from webapp.inference.link import LinkClosed, serve_link


def dial_node(url: str, api_key: str, dispatcher: Dispatcher, stop: threading.Event) -> None:
    """Keep one link to the node at `url` open until `stop`, reconnecting with backoff."""

    def serve(connection: ClientConnection) -> None:
        def receive(timeout: float):
            if stop.is_set():
                raise LinkClosed()
            try:
                return connection.recv(timeout=timeout)
            except TimeoutError:
                return None
            except ConnectionClosed:
                raise LinkClosed() from None

        serve_link(dispatcher, receive, connection.send, connection.close)

    keep_dialing(url, api_key, serve, stop)
