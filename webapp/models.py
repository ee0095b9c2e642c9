"""Every domain's models imported in one place, so Alembic and tests see the whole schema."""

from webapp.accounts.models import User
from webapp.analysis.models import ForecastScore
from webapp.auth.models import DeviceSession, LinkToken
from webapp.characters.models import Character, CharacterVersion
from webapp.chat.models import Dialog, Favorite, Message
from webapp.db import Base
from webapp.inference.models import DispatchLock, InferenceJob, NodeHeartbeat, NodeKey
from webapp.maintenance.models import MaintenanceWindow
from webapp.moderation.models import MessageReport
from webapp.monitoring.models import (
    Alert,
    AlertDelivery,
    LogEntry,
    MetricPoint,
    Threshold,
)
from webapp.siteconfig import SiteSetting

metadata = Base.metadata

__all__ = [
    "Alert",
    "AlertDelivery",
    "Character",
    "CharacterVersion",
    "DeviceSession",
    "Dialog",
    "DispatchLock",
    "Favorite",
    "ForecastScore",
    "InferenceJob",
    "LinkToken",
    "LogEntry",
    "MaintenanceWindow",
    "Message",
    "MessageReport",
    "MetricPoint",
    "NodeHeartbeat",
    "NodeKey",
    "SiteSetting",
    "Threshold",
    "User",
    "metadata",
]
