"""Forecasts for the next 24 hours and backtests that compare the model with every baseline.

The model is used only where it has beaten the baselines (`choose`); otherwise, and whenever the
model is missing, broken or stale, the best baseline forecasts instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webapp.analysis import baselines, features
from webapp.analysis.errors import AnalysisError
from webapp.analysis.series import Series, fill_gaps

MODEL = "model"
METHODS = (MODEL, *baselines.BASELINES)
BACKTEST_HORIZONS_S = {"30m": 1800, "1h": 3600, "24h": 86_400}
MAX_ORIGINS = 1500
Z90 = 1.2816  # the normal's 90th percentile, for the baselines' intervals


@dataclass
class Forecast:
    method: str
    times: np.ndarray  # epoch seconds of each forecast step
    values: np.ndarray
    low: np.ndarray  # an 80% prediction interval
    high: np.ndarray

    @property
    def peak(self) -> tuple[float, float]:
        index = int(np.argmax(self.values))
        return float(self.times[index]), float(self.values[index])

    def first_crossing(self, level: float) -> float | None:
        """When the forecast first reaches `level`, or None within the horizon."""
        above = np.flatnonzero(self.values >= level)
        return float(self.times[above[0]]) if above.size else None


def _usable(series: Series) -> np.ndarray:
    if np.isfinite(series.values).sum() < 2:
        raise AnalysisError("в ряду нет данных для прогноза", "values")
    return fill_gaps(series.values)


def model_paths(models, ctx: features.Context, origins, horizons) -> np.ndarray:
    x, level, scale = features.matrix(ctx, origins, horizons)
    predicted = models.predict(x).reshape(len(origins), len(horizons))
    return level[:, None] + scale[:, None] * predicted


def forecast(series: Series, models=None, method: str = MODEL, hours: float = 24) -> Forecast:
    """The next `hours` from the series' last step, by `method` (the model when it can)."""
    y = _usable(series)
    ctx = features.Context.of(y, series.start, series.step)
    steps = max(1, round(hours * 3600 / series.step))
    horizons = np.arange(1, steps + 1)
    origin = np.array([len(y) - 1])
    times = series.time_at(len(y) - 1) + horizons * series.step
    enough = len(y) > ctx.first_origin()
    if method == MODEL and models is not None and models.forecast is not None and enough:
        x, level, scale = features.matrix(ctx, origin, horizons)
        values = level[0] + scale[0] * models.predict(x)
        low_q, high_q = models.quantiles(horizons / ctx.period)
        return Forecast(MODEL, times, values, values + low_q * scale[0], values + high_q * scale[0])
    if method == MODEL or (method == "seasonal_naive" and not enough):
        method = "holt_winters" if enough else "ewma"
    values = baseline_paths(ctx, origin, horizons)[method][0]
    # A baseline's interval: its own one-step error spread, widening with the square root of h.
    recent = y[-ctx.period :]
    spread = float(np.std(np.diff(recent))) if len(recent) > 2 else 0.0
    width = Z90 * spread * np.sqrt(horizons)
    return Forecast(method, times, values, values - width, values + width)


def baseline_paths(ctx: features.Context, origins, horizons) -> dict[str, np.ndarray]:
    """Each baseline's forecasts, shape (origins, horizons), from the data up to each origin."""
    y = ctx.y
    return {
        "seasonal_naive": baselines.seasonal_naive(y, origins, horizons, ctx.period),
        "ewma": baselines.ewma(y, origins, horizons, ctx.ewma),
        "holt_winters": baselines.holt_winters(y, origins, horizons, ctx.period, ctx.hw),
    }


def forecasts_at(ctx: features.Context, origins, h: int, models=None) -> dict[str, np.ndarray]:
    """Every method's forecast h steps ahead of each origin, from the data up to it alone."""
    paths = {name: path[:, 0] for name, path in baseline_paths(ctx, origins, [h]).items()}
    if models is not None and models.forecast is not None:
        paths[MODEL] = model_paths(models, ctx, origins, [h])[:, 0]
    return paths


def backtest(series: Series, models=None, score_from: float | None = None) -> dict:
    """MAE of the model and of each baseline at 30 min, 1 h and 24 h ahead, forecasting from
    origins spread over the series with only the data before each origin (and, with
    `score_from`, only forecasts of readings from that moment on: "how did yesterday go")."""
    y = _usable(series)
    ctx = features.Context.of(y, series.start, series.step)
    measured = np.isfinite(series.values)
    percent = series.percent_scale
    result: dict = {"points": len(y), "step_s": series.step, "horizons": {}, "notes": series.notes}
    for name, seconds in BACKTEST_HORIZONS_S.items():
        h = round(seconds / series.step)
        if h < 1 or seconds % series.step:
            result["horizons"][name] = {"skipped": "шаг ряда крупнее горизонта"}
            continue
        first = ctx.first_origin()
        if score_from is not None:
            first = max(first, int(np.ceil((score_from - series.start) / series.step)) - h)
        last = len(y) - 1 - h
        if last <= first:
            result["horizons"][name] = {"skipped": "ряд слишком короткий для этого горизонта"}
            continue
        every = max(1, (last - first) // MAX_ORIGINS)
        origins = np.arange(first, last, every)
        origins = origins[measured[origins + h]]  # score only against real readings
        actual = y[origins + h]
        paths = forecasts_at(ctx, origins, h, models)
        scores = {}
        for method, predicted in paths.items():
            mae = float(np.mean(np.abs(predicted - actual)))
            scores[method] = {"mae": round(mae, 4)}
            if percent:
                scores[method]["mae_pp"] = round(mae, 3)  # a 0-100 series: the units are points
        best = min(scores, key=lambda m: scores[m]["mae"])
        result["horizons"][name] = {"origins": len(origins), "mae": scores, "best": best}
    return result


def choose(report: dict) -> str:
    """The method to forecast with: the model only where it beat every baseline at every
    horizon that could be scored; otherwise the baseline with the lowest mean MAE."""
    scored = [h for h in report["horizons"].values() if "mae" in h]
    if not scored:
        return "holt_winters"
    if all(h["best"] == MODEL for h in scored):
        return MODEL
    means = {
        method: np.mean([h["mae"][method]["mae"] for h in scored]) for method in baselines.BASELINES
    }
    return min(means, key=means.get)
