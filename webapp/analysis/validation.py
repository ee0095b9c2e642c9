"""The daily self-validation: yesterday's readings forecast again, as they would have been, by
the model and by every baseline; the scores are kept, and where the model lost, the forecasts
switch to the best baseline until a later day says otherwise."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp.analysis import forecast
from webapp.analysis.models import ForecastScore
from webapp.analysis.service import HISTORY_DAYS, metric_series
from webapp.i18n import MOSCOW
from webapp.monitoring.catalogue import METRICS

HISTORY_SHOWN_DAYS = 14


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A Moscow calendar day as UTC moments [start, end)."""
    start = datetime.combine(day, time(0), MOSCOW)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def validate_day(session: Session, day: date, models) -> dict[str, str]:
    """Backtest `day` for every metric with history; store the scores (replacing an earlier
    run's for that day); return each scored metric's method from now on."""
    start, end = day_bounds(day)
    choices: dict[str, str] = {}
    for key in METRICS:
        series = metric_series(session, key, end, days=HISTORY_DAYS + 1)
        if np.isfinite(series.values).sum() < 2:
            continue
        report = forecast.backtest(series, models, score_from=start.timestamp())
        scored = {h: r for h, r in report["horizons"].items() if "mae" in r}
        if not scored:
            continue
        session.execute(
            delete(ForecastScore).where(ForecastScore.day == day, ForecastScore.metric == key)
        )
        for horizon, result in scored.items():
            for method, score in result["mae"].items():
                session.add(
                    ForecastScore(
                        day=day,
                        metric=key,
                        method=method,
                        horizon=horizon,
                        mae=score["mae"],
                        origins=result["origins"],
                    )
                )
        choices[key] = forecast.choose(report)
    session.flush()
    return choices


def _reports(rows) -> dict[tuple[date, str], dict]:
    """Stored scores back into backtest reports, one per (day, metric)."""
    reports: dict[tuple[date, str], dict] = defaultdict(lambda: {"horizons": {}})
    for row in rows:
        horizons = reports[(row.day, row.metric)]["horizons"]
        horizons.setdefault(row.horizon, {"mae": {}})["mae"][row.method] = {"mae": row.mae}
    for report in reports.values():
        for result in report["horizons"].values():
            result["best"] = min(result["mae"], key=lambda m: result["mae"][m]["mae"])
    return reports


def current_choices(session: Session) -> dict[str, str]:
    """Each metric's forecasting method after its latest validated day (no entry: the model,
    where it is loaded)."""
    latest = (
        select(ForecastScore.metric, func.max(ForecastScore.day).label("day"))
        .group_by(ForecastScore.metric)
        .subquery()
    )
    rows = session.scalars(
        select(ForecastScore).join(
            latest, (ForecastScore.metric == latest.c.metric) & (ForecastScore.day == latest.c.day)
        )
    ).all()
    return {metric: forecast.choose(report) for (_day, metric), report in _reports(rows).items()}


@dataclass(frozen=True)
class DayScore:
    day: date
    metric: str
    horizon: str
    model: float | None
    best_baseline: str
    baseline: float
    choice: str


def history(session: Session, today: date, days: int = HISTORY_SHOWN_DAYS) -> list[DayScore]:
    """The last `days` validations, newest first: per metric the model's 1 h MAE next to the
    best baseline's, and the method each day's result chose."""
    rows = session.scalars(
        select(ForecastScore).where(ForecastScore.day >= today - timedelta(days=days))
    ).all()
    found = []
    for (day, metric), report in _reports(rows).items():
        horizon = "1h" if "1h" in report["horizons"] else next(iter(report["horizons"]))
        scores = {m: s["mae"] for m, s in report["horizons"][horizon]["mae"].items()}
        baselines = {m: v for m, v in scores.items() if m != forecast.MODEL}
        best = min(baselines, key=baselines.get)
        found.append(
            DayScore(
                day,
                metric,
                horizon,
                scores.get(forecast.MODEL),
                best,
                baselines[best],
                forecast.choose(report),
            )
        )
    return sorted(found, key=lambda s: (-s.day.toordinal(), s.metric))
