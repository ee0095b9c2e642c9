"""Warning and critical levels per metric, and the level a value is at, with hysteresis.

A value enters a level when it goes above the line; it leaves only when it falls below the line
minus the hysteresis, so a value hovering at a line does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.monitoring.catalogue import METRICS
from webapp.monitoring.errors import MonitoringError
from webapp.monitoring.models import Threshold


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Levels:
    metric: str
    warning: float
    critical: float
    hysteresis: float


DEFAULTS = {
    levels.metric: levels
    for levels in (
        Levels("pc.cpu_percent", 80, 95, 5),
        Levels("pc.gpu_percent", 85, 98, 5),
        Levels("pc.ram_used_gb", 25, 30, 1),
        Levels("pc.ai_first_token_ms", 2000, 5000, 250),
        Levels("vds.cpu_percent", 75, 90, 5),
        Levels("vds.ram_used_gb", 9, 11, 0.5),
        Levels("vds.disk_percent", 85, 95, 2),
    )
}


def current_levels(session: Session) -> dict[str, Levels]:
    """Every metric that has levels: the defaults, overridden by the admin's rows."""
    levels = dict(DEFAULTS)
    for row in session.scalars(select(Threshold)):
        if row.metric in METRICS:
            levels[row.metric] = Levels(row.metric, row.warning, row.critical, row.hysteresis)
    return levels


def level_of(value: float, levels: Levels, previous: Level = Level.OK) -> Level:
    if value > levels.critical or (
        previous == Level.CRITICAL and value > levels.critical - levels.hysteresis
    ):
        return Level.CRITICAL
    if value > levels.warning or (
        previous != Level.OK and value > levels.warning - levels.hysteresis
    ):
        return Level.WARNING
    return Level.OK


def validate(metric: str, warning: float | None, critical: float | None, hysteresis: float | None):
    """The one check for levels typed by an admin; raises MonitoringError naming the field."""
    if metric not in DEFAULTS:
        raise MonitoringError(_("Для этой метрики пороги не настраиваются."), "metric")
    if warning is None or warning < 0:
        raise MonitoringError(_("Предупреждение: введите неотрицательное число."), "warning")
    if critical is None or critical < 0:
        raise MonitoringError(_("Критический уровень: введите неотрицательное число."), "critical")
    if warning >= critical:
        raise MonitoringError(_("Предупреждение должно быть ниже критического уровня."), "warning")
    if hysteresis is None or hysteresis < 0:
        raise MonitoringError(_("Гистерезис: введите неотрицательное число."), "hysteresis")
    if hysteresis > warning:
        raise MonitoringError(
            _("Гистерезис не может быть больше уровня предупреждения."), "hysteresis"
        )
    return Levels(metric, warning, critical, hysteresis)


def save_levels(session: Session, levels: Levels, by_user_id: int | None) -> tuple[Levels, Levels]:
    """Store an admin's levels; return (before, after) for the audit log."""
    before = current_levels(session)[levels.metric]
    row = session.get(Threshold, levels.metric) or Threshold(metric=levels.metric)
    row.warning, row.critical, row.hysteresis = levels.warning, levels.critical, levels.hysteresis
    row.updated_at, row.updated_by = utcnow(), by_user_id
    session.add(row)
    return before, levels
