"""Serving one node link over a WebSocket, whichever side dialed."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pc_node import protocol
from webapp.inference.dispatcher import Dispatcher

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 5.0


class LinkClosed(Exception):
    pass


def serve_link(
    dispatcher: Dispatcher,
    receive: Callable[[float], str | bytes | None],
    send: Callable[[str], None],
    close: Callable[[], None],
    *,
    key_id: int | None = None,
) -> None:
    """Wait for hello, attach the node, then feed its frames to the dispatcher until it hangs up.

    `receive(timeout)` returns a frame, None on timeout, or raises LinkClosed.
    """
    first = receive(HELLO_TIMEOUT)
    try:
        hello = protocol.decode(first) if first is not None else None
    except protocol.ProtocolError as exc:
        log.warning("node sent a bad first frame: %s", exc)
        hello = None
    if not isinstance(hello, protocol.Hello):
        close()
        return
    link = dispatcher.attach(hello, send, close, key_id=key_id)
    try:
        while link in dispatcher.links:
            frame = receive(1.0)
            if frame is None:
                continue
            try:
                message = protocol.decode(frame)
            except protocol.ProtocolError as exc:
                log.warning("node %s sent a bad frame: %s", hello.node_id, exc)
                continue
            try:
                dispatcher.on_frame(link, message)
            except Exception:  # one frame's trouble (Redis away, say) never ends the link
                log.exception("node %s: a %s frame failed", hello.node_id, message.TYPE)
    except LinkClosed:
        pass
    finally:
        dispatcher.detach(link, "connection closed")
