"""Each metric's next 24 hours for the admin's analysis page: peak, interval, the crossing of
its critical level, and the chart's SVG points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from webapp.analysis import forecast
from webapp.analysis.model import Models
from webapp.analysis.service import metric_series
from webapp.analysis.validation import current_choices
from webapp.monitoring.catalogue import METRICS
from webapp.monitoring.thresholds import current_levels

CHART_W, CHART_H = 240, 48


@dataclass(frozen=True)
class MetricForecast:
    key: str
    label: str
    unit: str
    method: str
    peak_at: float
    peak: float
    low: float  # the 80% interval at the peak
    high: float
    crossing_at: float | None  # first time the forecast reaches the critical level
    critical: float
    line: str  # SVG polyline points of the forecast
    band: str  # SVG polygon points of the interval
    notes: list[str]


def _chart(result: forecast.Forecast) -> tuple[str, str]:
    top = float(np.max(result.high))
    bottom = float(np.min(result.low))
    span = (top - bottom) or 1.0
    xs = np.linspace(0, CHART_W, len(result.values))

    def y(values):
        return CHART_H - (np.asarray(values) - bottom) / span * CHART_H

    line = " ".join(f"{x:.1f},{v:.1f}" for x, v in zip(xs, y(result.values), strict=True))
    upper = [f"{x:.1f},{v:.1f}" for x, v in zip(xs, y(result.high), strict=True)]
    lower = [f"{x:.1f},{v:.1f}" for x, v in zip(xs, y(result.low), strict=True)]
    return line, " ".join(upper + lower[::-1])


def forecasts(session: Session, models: Models, now: datetime) -> list[MetricForecast]:
    found = []
    choices = current_choices(session)
    for key, levels in current_levels(session).items():
        metric = METRICS[key]
        series = metric_series(session, key, now)
        if np.isfinite(series.values).sum() < 2:
            continue
        result = forecast.forecast(series, models, choices.get(key, forecast.MODEL))
        peak_at, peak = result.peak
        index = int(np.argmax(result.values))
        line, band = _chart(result)
        found.append(
            MetricForecast(
                key,
                str(metric.label),
                metric.unit,
                result.method,
                peak_at,
                peak,
                float(result.low[index]),
                float(result.high[index]),
                result.first_crossing(levels.critical),
                levels.critical,
                line,
                band,
                series.notes,
            )
        )
    return found
