"""The one Dispatcher of this process, created on first use and stopped with the process."""

from __future__ import annotations

import atexit
import threading

from flask import Flask

from webapp.extensions import db
from webapp.inference.dispatcher import Dispatcher, DispatcherConfig

_lock = threading.Lock()


def get_dispatcher(app: Flask) -> Dispatcher:
    with _lock:
        dispatcher = app.extensions.get("mehhost.dispatcher")
        if dispatcher is None:
            dispatcher = Dispatcher(
                app.extensions["mehhost.bus"],
                db.new_session,
                app.extensions.get("mehhost.dispatcher_config") or DispatcherConfig(),
            )
            for kind, handler in app.extensions.get("mehhost.job_handlers", {}).items():
                dispatcher.handlers[kind] = handler
            dispatcher.start()
            atexit.register(dispatcher.stop)
            app.extensions["mehhost.dispatcher"] = dispatcher
        return dispatcher


def register_job_handler(app: Flask, kind: str, handler) -> None:
    """Domains (chat, characters' preview) say how a job of their kind is stored."""
    app.extensions.setdefault("mehhost.job_handlers", {})[kind] = handler
    dispatcher = app.extensions.get("mehhost.dispatcher")
    if dispatcher is not None:
        dispatcher.handlers[kind] = handler
