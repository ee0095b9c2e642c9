"""The AI service status everyone reads: online / overloaded / offline, for the whole deployment.

Each dispatcher that holds node links writes a heartbeat row per node every couple of seconds;
the status is computed from every fresh row (any process's) and the shared queue, and kept
under one bus key for cheap reads. A process without links writes nothing, so the status never
flaps because one process has no node.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from webapp.bus import Bus, BusUnavailable
from webapp.inference import queue
from webapp.inference.models import NodeHeartbeat

AI_STATUS_KEY = "ai_service_status"
AI_STATES = ("online", "overloaded", "offline")
STATUS_TTL = 10.0  # a dispatcher that dies silently reads as offline this long after
DEFAULT_REPLY_TOKENS = 150  # expected length of a reply before any was measured


def read_status(bus: Bus) -> dict[str, Any]:
    """The last status a dispatcher wrote, or an offline record when none is fresh."""
    try:
        record = bus.get(AI_STATUS_KEY)
    except BusUnavailable:
        record = None
    if not record or record.get("state") not in AI_STATES:
        return {"state": "offline"}
    return record


def write_status(bus: Bus, record: dict[str, Any]) -> None:
    bus.set(AI_STATUS_KEY, record, ttl=STATUS_TTL)


def beat(session: Session, owner: str, nodes: list[dict[str, Any]], now: datetime) -> None:
    """This dispatcher's linked nodes as of now: one row each ({"id", "node_id", "model",
    "context_size", "capacity", "running", "tokens_per_s"}); rows of links it no longer holds
    go."""
    ids = [node["id"] for node in nodes]
    session.execute(
        delete(NodeHeartbeat).where(NodeHeartbeat.owner == owner, NodeHeartbeat.id.not_in(ids))
    )
    existing = (
        {
            row.id: row
            for row in session.scalars(select(NodeHeartbeat).where(NodeHeartbeat.id.in_(ids)))
        }
        if ids
        else {}
    )
    for node in nodes:
        row = existing.get(node["id"]) or NodeHeartbeat(id=node["id"], linked_at=now)
        row.owner = owner
        for name in ("node_id", "model", "context_size", "capacity", "running", "tokens_per_s"):
            setattr(row, name, node[name])
        row.seen_at = now
        session.add(row)
    # Rows of processes that died without a word are only ignored (see deployment_status);
    # they go after a minute, whoever notices.
    session.execute(
        delete(NodeHeartbeat).where(NodeHeartbeat.seen_at < now - timedelta(seconds=60))
    )


def expected_reply_s(tokens_per_s: float, reply_tokens: float, first_token_s: float = 0.0) -> float:
    """How long one reply takes, from the measured time to its first token, speed and length of
    replies (10 s before any was measured)."""
    if tokens_per_s <= 0:
        return 10.0
    return first_token_s + max(reply_tokens, 1.0) / tokens_per_s


def linked_nodes(session: Session, now: datetime) -> list[NodeHeartbeat]:
    """The nodes linked now, anywhere in the deployment (for the admins' page)."""
    return list(
        session.scalars(
            select(NodeHeartbeat)
            .where(NodeHeartbeat.seen_at >= now - timedelta(seconds=STATUS_TTL))
            .order_by(NodeHeartbeat.linked_at, NodeHeartbeat.id)
        )
    )


def deployment_status(
    session: Session,
    now: datetime,
    *,
    overload_wait: float,
    reply_tokens: float,
    first_token_s: float = 0.0,
) -> dict[str, Any]:
    """online / overloaded / offline with model, nodes, queue, capacity, speed and expected
    wait, from every node linked anywhere in the deployment."""
    fresh = session.scalars(
        select(NodeHeartbeat)
        .where(NodeHeartbeat.seen_at >= now - timedelta(seconds=STATUS_TTL))
        .order_by(NodeHeartbeat.id)
    ).all()
    load = queue.counts(session)
    if not fresh:
        return {"state": "offline", "queue": load["queue"]}
    capacity = sum(row.capacity for row in fresh)
    speeds = [row.tokens_per_s for row in fresh if row.tokens_per_s > 0]
    tokens_per_s = sum(speeds) / len(speeds) if speeds else 0.0
    per_reply = expected_reply_s(tokens_per_s, reply_tokens, first_token_s)
    # Background jobs give way to people's: they make nobody wait, nor the AI look busy.
    wait = (load["running"] + load["queue"]) / capacity * per_reply
    return {
        "state": "overloaded" if wait > overload_wait else "online",
        "model": fresh[0].model,
        "nodes": sorted({row.node_id for row in fresh}),
        "context_size": min(row.context_size for row in fresh),
        "queue": load["queue"],
        "background": load["background"] + load["background_running"],
        "running": load["running"] + load["background_running"],
        "capacity": capacity,
        "expected_wait_s": round(wait, 1),
        "reply_s": round(per_reply, 1),
        "tokens_per_s": round(tokens_per_s, 1),
        "last_heartbeat": max(row.seen_at for row in fresh).astimezone(UTC).timestamp(),
    }
