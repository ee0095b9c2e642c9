"""The AI link watched in every monitoring round (registered with the collector by the app
factory): the home PC or its link gone for longer than LINK_LOST_S is a high alert (email,
Telegram, SMS to whoever the channels name), resolved when a node links again.

"Gone" needs a node to have been linked before (the system log's node_linked, kept 7 days): a
fresh install that never had one does not page anybody. Offline since: the newest of the last
heartbeat seen and the last node_unlinked entry, so a web process killed with its link (no
unlink written) counts from when its node was last heard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.bus import Bus
from webapp.inference.models import NodeHeartbeat
from webapp.inference.status import STATUS_TTL
from webapp.monitoring import alerts
from webapp.monitoring.models import AlertState, LogCategory, LogEntry, Severity

LINK_KEY = "ai:link"
LINK_LOST_S = 30


def _newest(session: Session, event: str) -> datetime | None:
    return session.scalar(
        select(func.max(LogEntry.created_at)).where(
            LogEntry.category == LogCategory.SYSTEM, LogEntry.event == event
        )
    )


def offline_since(session: Session, moment: datetime) -> datetime | None:
    """When the deployment lost its last node (None: a node is linked, or none ever was)."""
    last_seen = session.scalar(select(func.max(NodeHeartbeat.seen_at)))
    if last_seen is not None and moment - last_seen <= timedelta(seconds=STATUS_TTL):
        return None
    linked = _newest(session, "node_linked")
    if linked is None:
        return None
    unlinked = _newest(session, "node_unlinked")
    candidates = [when for when in (last_seen, unlinked, linked) if when is not None]
    return max(candidates)


def link_round(session: Session, bus: Bus, notifier, now: float, moment: datetime) -> list:
    """Fire or resolve the link alert; the alerts that changed."""
    since = offline_since(session, moment)
    if since is None:
        resolved = alerts.resolve_alert(session, notifier, LINK_KEY, moment)
        return [resolved] if resolved else []
    lost_for = (moment - since).total_seconds()
    if lost_for <= LINK_LOST_S:
        return []
    firing = alerts.latest(session, LINK_KEY)
    if firing is not None and firing.state == AlertState.FIRING:
        firing.value = round(lost_for)
        return []
    title = _("ПК с ИИ не на связи уже %(s)s с: ответы ждут в очереди", s=round(lost_for))
    detail = _(
        "Последний отклик узла: %(t)s UTC. Проверьте питание и сеть домашнего ПК и сервис "
        "pc_node; в «Узлы ИИ» видно, подключился ли он снова.",
        t=since.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return [
        alerts.raise_alert(
            session,
            notifier,
            key=LINK_KEY,
            severity=Severity.HIGH,
            title=title,
            detail=detail,
            now=moment,
            value=round(lost_for),
            threshold_value=LINK_LOST_S,
        )
    ]
