"""How chat replies are stored as the dispatcher runs them (registered as the "chat_reply" kind).

The dispatcher hands each step the transaction that ends or holds the job's lease: the reply is
stored in the same commit that takes the job out of the queue."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from pc_node import protocol
from webapp.chat import replies
from webapp.db import utcnow
from webapp.inference.queue import QueuedJob


class ChatReplies:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def _bus(self):
        return self.app.extensions["mehhost.bus"]

    def on_started(self, session: Session, job: QueuedJob) -> None:
        replies.reply_started(session, self._bus(), job.meta["message_id"], job.job_id)

    def on_done(self, session: Session, job: QueuedJob, text: str, done: protocol.Done) -> None:
        meta = job.meta
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

    def on_ended(self, session: Session, job: QueuedJob, partial: str, *, cancelled: bool) -> None:
        meta = job.meta
        replies.end_reply(
            session,
            self._bus(),
            meta["message_id"],
            job.job_id,
            partial,
            cancelled=cancelled,
            filters=meta.get("filters"),
        )
