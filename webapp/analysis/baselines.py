"""The statistical forecasts every model is compared with, and falls back to.

All three use only data up to the forecast's origin. They are computed for many origins at
once (a backtest asks for thousands), so each keeps its state per step in an array.
"""

from __future__ import annotations

import numpy as np

from webapp.analysis.series import DAY

BASELINES = ("seasonal_naive", "ewma", "holt_winters")
EWMA_ALPHA = 0.3
# Additive Holt-Winters with a damped trend and a daily season; smoothing constants suited to
# 10-minute load data (fixed rather than fitted, so one pass serves every origin).
HW_ALPHA, HW_BETA, HW_GAMMA, HW_PHI = 0.25, 0.01, 0.15, 0.97


def _season_back(origins: np.ndarray, horizons: np.ndarray, period: int) -> np.ndarray:
    """Index of the same time of day as origin + h, at or before the origin."""
    cycles = np.ceil(horizons / period).astype(int)
    return origins[:, None] + horizons[None, :] - cycles[None, :] * period


def seasonal_naive(y: np.ndarray, origins, horizons, period: int = DAY) -> np.ndarray:
    """The value one day (one season) before the target time."""
    index = _season_back(np.asarray(origins), np.asarray(horizons), period)
    return y[np.clip(index, 0, None)]


def ewma_levels(y: np.ndarray, alpha: float = EWMA_ALPHA) -> np.ndarray:
    levels = np.empty_like(y, dtype=float)
    level = float(y[0])
    for i, value in enumerate(y):
        level += alpha * (float(value) - level)
        levels[i] = level
    return levels


def ewma(y: np.ndarray, origins, horizons, levels: np.ndarray | None = None) -> np.ndarray:
    """A flat forecast at the exponentially weighted mean of the past."""
    levels = ewma_levels(y) if levels is None else levels
    return np.repeat(levels[np.asarray(origins)][:, None], len(horizons), axis=1)


def holt_winters_states(y: np.ndarray, period: int = DAY):
    """(level, trend, season) after each step; season[i] is the seasonal term of step i."""
    n = len(y)
    level = np.empty(n)
    trend = np.empty(n)
    season = np.zeros(n)
    first = y[: min(n, period)]
    base = float(np.mean(first))
    season[: len(first)] = first - base
    current_level, current_trend = base, 0.0
    for i in range(n):
        seasonal = season[i - period] if i >= period else season[i]
        previous_level = current_level
        current_level = HW_ALPHA * (y[i] - seasonal) + (1 - HW_ALPHA) * (
            previous_level + HW_PHI * current_trend
        )
        current_trend = HW_BETA * (current_level - previous_level) + (1 - HW_BETA) * (
            HW_PHI * current_trend
        )
        season[i] = HW_GAMMA * (y[i] - current_level) + (1 - HW_GAMMA) * seasonal
        level[i], trend[i] = current_level, current_trend
    return level, trend, season


def holt_winters(y, origins, horizons, period: int = DAY, states=None) -> np.ndarray:
    level, trend, season = holt_winters_states(y, period) if states is None else states
    origins = np.asarray(origins)
    horizons = np.asarray(horizons)
    damped = np.cumsum(HW_PHI ** np.arange(1, horizons.max() + 1))[horizons - 1]
    seasonal = season[np.clip(_season_back(origins, horizons, period), 0, None)]
    return level[origins][:, None] + trend[origins][:, None] * damped[None, :] + seasonal
