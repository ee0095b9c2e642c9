"""How chat replies are stored as the dispatcher runs them (registered as the "chat_reply" kind)."""

from __future__ import annotations

import logging

from flask import Flask

from pc_node import protocol
from webapp.chat import replies
from webapp.db import utcnow
from webapp.extensions import db
from webapp.inference.queue import QueuedJob

log = logging.getLogger(__name__)


class ChatReplies:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def _scope(self):
        return self.app.app_context()

    def on_started(self, job: QueuedJob) -> None:
        meta = job.payload["meta"]
        with self._scope(), db.new_session() as session:
            replies.reply_started(session, self._bus(), meta["message_id"], job.job_id)
            session.commit()

    def on_done(self, job: QueuedJob, text: str, done: protocol.Done) -> None:
        meta = job.payload["meta"]
        with self._scope(), db.new_session() as session:
            replies.finish_reply(
                session,
                self._bus(),
                meta["message_id"],
                job.job_id,
                text,
                utcnow(),
                limit=meta.get("max_length", replies.REPLY_MAX),
                filters=meta.get("filters"),
            )
            session.commit()

    def on_ended(self, job: QueuedJob, partial: str, *, cancelled: bool) -> None:
        meta = job.payload["meta"]
        with self._scope(), db.new_session() as session:
            replies.end_reply(
                session,
                self._bus(),
                meta["message_id"],
                job.job_id,
                partial,
                cancelled=cancelled,
                filters=meta.get("filters"),
            )
            session.commit()

    def _bus(self):
        return self.app.extensions["mehhost.bus"]
