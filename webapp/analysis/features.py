"""Lag and calendar features for the forecast model, free of the series' units.

For an origin o (the last step we know) and a horizon h (steps ahead) every value is expressed
relative to the level of the last hour and divided by the series' spread over the last week, so
one model serves CPU %, gigabytes and milliseconds alike. The baselines' own forecasts are
features too: the model learns when to trust which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webapp.analysis import baselines
from webapp.analysis.series import STEP_S

NAMES = (
    "last",
    "slope",
    "day_lag_target",
    "day_lag_origin",
    "week_lag_target",
    "week_lag_origin",
    "holt_winters",
    "ewma",
    "hour_sin",
    "hour_cos",
    "weekday_sin",
    "weekday_cos",
    "horizon",
)
LOCAL_OFFSET_S = 3 * 3600  # calendar features in Moscow time, where our users live
TARGET_CLIP = 20.0


@dataclass(frozen=True)
class Context:
    """Per-series state shared by every origin: the filled values, rolling stats, baselines."""

    y: np.ndarray
    start: float
    step: float
    period: int
    cumsum: np.ndarray
    cumsq: np.ndarray
    ewma: np.ndarray
    hw: tuple

    @classmethod
    def of(cls, y: np.ndarray, start: float, step: float = STEP_S) -> Context:
        period = max(2, round(86_400 / step))
        padded = np.concatenate([[0.0], y])
        return cls(
            y,
            start,
            step,
            period,
            np.cumsum(padded),
            np.cumsum(padded**2),
            baselines.ewma_levels(y),
            baselines.holt_winters_states(y, period),
        )

    @property
    def week(self) -> int:
        return 7 * self.period

    def first_origin(self) -> int:
        """The earliest origin with a full day behind it."""
        return self.period

    def level_and_scale(self, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        recent = max(1, round(3600 / self.step))
        low = np.maximum(0, origins + 1 - recent)
        level = (self.cumsum[origins + 1] - self.cumsum[low]) / (origins + 1 - low)
        wide = np.maximum(0, origins + 1 - self.week)
        count = origins + 1 - wide
        mean = (self.cumsum[origins + 1] - self.cumsum[wide]) / count
        var = (self.cumsq[origins + 1] - self.cumsq[wide]) / count - mean**2
        scale = np.sqrt(np.maximum(var, 0.0))
        return level, np.maximum(scale, 1e-3 * (np.abs(level) + 1.0))


def matrix(ctx: Context, origins, horizons) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X of shape (origins*horizons, features), level, scale) with rows origin-major."""
    origins = np.asarray(origins, dtype=int)
    horizons = np.asarray(horizons, dtype=int)
    y, period, week = ctx.y, ctx.period, ctx.week
    level, scale = ctx.level_and_scale(origins)
    lv, sc = level[:, None], scale[:, None]
    target = origins[:, None] + horizons[None, :]
    day_target = y[np.clip(target - period * np.ceil(horizons / period).astype(int), 0, None)]
    day_origin = y[np.clip(origins - period, 0, None)][:, None]
    has_week = (origins - week >= 0)[:, None]
    week_target = np.where(has_week, y[np.clip(target - week, 0, None)], day_target)
    week_origin = np.where(has_week, y[np.clip(origins - week, 0, None)][:, None], day_origin)
    short = max(1, round(1800 / ctx.step))
    recent_mean = (ctx.cumsum[origins + 1] - ctx.cumsum[np.maximum(0, origins + 1 - short)]) / (
        np.minimum(origins + 1, short)
    )
    slope = ((recent_mean - level) / scale)[:, None]
    hw = baselines.holt_winters(y, origins, horizons, period, states=ctx.hw)
    when = ctx.start + target * ctx.step + LOCAL_OFFSET_S
    hour = (when % 86_400) / 3600
    weekday = (when // 86_400 + 3) % 7
    shape = (len(origins), len(horizons))
    columns = [
        np.broadcast_to(((y[origins] - level) / scale)[:, None], shape),
        np.broadcast_to(slope, shape),
        (day_target - lv) / sc,
        np.broadcast_to((day_origin - lv) / sc, shape),
        (week_target - lv) / sc,
        np.broadcast_to((week_origin - lv) / sc, shape),
        (hw - lv) / sc,
        np.broadcast_to(((ctx.ewma[origins] - level) / scale)[:, None], shape),
        np.sin(2 * np.pi * hour / 24),
        np.cos(2 * np.pi * hour / 24),
        np.sin(2 * np.pi * weekday / 7),
        np.cos(2 * np.pi * weekday / 7),
        np.broadcast_to((horizons / period)[None, :], shape),
    ]
    features = np.stack([np.clip(c, -50, 50) for c in columns], axis=-1)
    return features.reshape(-1, len(NAMES)).astype(np.float32), level, scale
