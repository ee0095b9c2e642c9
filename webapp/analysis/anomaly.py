"""Anomalies: a rolling z-score over the past hour plus an Isolation Forest over each metric's
(z, change of z, deviation from the same time yesterday) vector.

A point is anomalous when its |z| passes Z_LOW and the forest finds the vector unusual (or |z|
is extreme on its own, for when the forest is missing). Neighbouring points merge into windows;
a window's severity comes from its largest |z|, and it names the metrics behind it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from webapp.analysis.series import fill_gaps

Z_LOW, Z_MEDIUM, Z_HIGH = 4.0, 6.0, 9.0
Z_ALONE = 7.0  # |z| that counts without the forest's agreement
MIN_WINDOW = 12  # steps of history before a z-score means anything
SEVERITIES = ("low", "medium", "high")


@dataclass
class Window:
    start: float  # epoch seconds
    end: float
    severity: str
    score: float  # the largest |z| in the window
    metrics: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "start": datetime.fromtimestamp(self.start, UTC).isoformat(),
            "end": datetime.fromtimestamp(self.end, UTC).isoformat(),
            "severity": self.severity,
            "score": round(self.score, 2),
            "metrics": self.metrics,
        }


def shape_for(step: float) -> tuple[int, int]:
    """(z-score window, steps per day) for a series sampled every `step` seconds."""
    return max(MIN_WINDOW, round(3600 / step)), max(2, round(86_400 / step))


def rolling_z(values: np.ndarray, window: int) -> np.ndarray:
    """How far each point lies from the straight line through the `window` points before it
    (never itself), in units of that fit's spread: a steady daily ramp is not an anomaly.

    `values` is one series (n,) or several side by side (n, k); z has the same shape."""
    table = np.asarray(values, dtype=float)
    y = fill_gaps(table.reshape(len(table), -1))
    n = len(y)
    x = (np.arange(n, dtype=float) - (n - 1) / 2)[:, None]  # centred: well-conditioned sums

    def sums(series: np.ndarray) -> np.ndarray:
        series = np.broadcast_to(series, y.shape)
        return np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(series, axis=0)])

    s1, sx, sy, sxx, sxy, syy = (sums(v) for v in (np.ones((n, 1)), x, y, x * x, x * y, y * y))
    hi = np.arange(n)
    lo = np.maximum(0, hi - window)
    count, tx, ty, txx, txy, tyy = (t[hi] - t[lo] for t in (s1, sx, sy, sxx, sxy, syy))
    count = np.maximum(count, 1)
    denominator = count * txx - tx * tx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(denominator > 1e-9, (count * txy - tx * ty) / denominator, 0.0)
    intercept = (ty - slope * tx) / count
    residual_sq = (
        tyy
        - 2 * intercept * ty
        - 2 * slope * txy
        + count * intercept**2
        + 2 * intercept * slope * tx
        + slope**2 * txx
    ) / count
    spread = np.sqrt(np.maximum(residual_sq, 0.0))
    # A window is few points: never trust a spread below the series' step-to-step noise (robust:
    # the median absolute change, scaled to a standard deviation).
    noise = 1.4826 * np.median(np.abs(np.diff(y, axis=0)), axis=0) if n > 2 else 0.0
    floor = np.maximum(noise, 1e-3 * (np.mean(np.abs(y), axis=0) + 1.0))
    z = (y - (intercept + slope * x)) / np.maximum(spread, floor)
    z[hi < MIN_WINDOW] = 0.0
    z[~np.isfinite(table.reshape(y.shape))] = 0.0  # a gap is reported elsewhere, not flagged
    return z.reshape(table.shape)


def point_features(values: np.ndarray, window: int, period: int) -> tuple[np.ndarray, np.ndarray]:
    """(features float32, z) for every point: (n, 3) and (n,) for one metric, (n, k, 3) and
    (n, k) for k metrics side by side."""
    z = rolling_z(values, window)
    dz = np.diff(z, axis=0, prepend=z[:1])
    y = fill_gaps(np.asarray(values, dtype=float).reshape(len(z), -1)).reshape(z.shape)
    spread = np.nanstd(y, axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    yesterday = np.zeros_like(y)
    if len(y) > period:
        yesterday[period:] = (y[period:] - y[:-period]) / spread
    features = np.stack([z, dz, yesterday], axis=-1)
    return np.clip(features, -50, 50).astype(np.float32), z


def _severity(score: float) -> str:
    return "high" if score >= Z_HIGH else "medium" if score >= Z_MEDIUM else "low"


def flagged(
    z_by_metric: dict[str, np.ndarray], features_by_metric: dict[str, np.ndarray], models=None
) -> dict[str, np.ndarray]:
    """Extreme points, plus unusual ones the forest agrees about. The forest only ever gates
    points already past Z_LOW, so only those are scored: a few per hour, in one batch for every
    metric, not all of them."""
    flags = {name: np.abs(z) >= Z_ALONE for name, z in z_by_metric.items()}
    candidates = {
        name: np.flatnonzero((np.abs(z) >= Z_LOW) & ~flags[name]) for name, z in z_by_metric.items()
    }
    batch = [features_by_metric[name][rows] for name, rows in candidates.items() if rows.size]
    if not batch or models is None or models.anomaly is None:
        return flags
    unusual = models.anomaly_scores(np.concatenate(batch)) < 0
    offset = 0
    for name, rows in candidates.items():
        flags[name][rows] = unusual[offset : offset + rows.size]
        offset += rows.size
    return flags


def windows(
    times: np.ndarray,
    flags_by_metric: dict[str, np.ndarray],
    z_by_metric: dict[str, np.ndarray],
    merge_gap: int,
) -> list[Window]:
    """Merge flagged points of every metric into windows over time. Points less than one z
    window apart are one event: a burst also skews the line fitted just after it."""
    any_flag = np.zeros(len(times), dtype=bool)
    for flags in flags_by_metric.values():
        any_flag |= flags
    found: list[Window] = []
    points = np.flatnonzero(any_flag)
    if not points.size:
        return found
    groups = np.split(points, np.flatnonzero(np.diff(points) > merge_gap) + 1)
    for group in groups:
        first, last = int(group[0]), int(group[-1])
        names = [name for name, flags in flags_by_metric.items() if flags[first : last + 1].any()]
        score = max(float(np.abs(z_by_metric[name][first : last + 1]).max()) for name in names)
        found.append(
            Window(float(times[first]), float(times[last]), _severity(score), score, names)
        )
    return found


def detect(
    series_by_metric: dict[str, np.ndarray],
    times: np.ndarray,
    step: float,
    models=None,
) -> list[Window]:
    """Anomaly windows over aligned metric arrays (one value per time in `times`)."""
    window, period = shape_for(step)
    names = list(series_by_metric)
    if not names:
        return []
    table = np.column_stack([np.asarray(series_by_metric[name], dtype=float) for name in names])
    features, z = point_features(table, window, period)  # every metric in one pass
    z_by_metric = {name: z[:, i] for i, name in enumerate(names)}
    features_by_metric = {name: features[:, i] for i, name in enumerate(names)}
    return windows(times, flagged(z_by_metric, features_by_metric, models), z_by_metric, window)


@dataclass
class HourAnalysis:
    """The last hour's anomalies over every metric of a source, and how long it took."""

    windows: list[Window]
    gaps: list[str]
    elapsed_ms: float


def analyse_samples(ring: list[dict], step: float, models=None) -> HourAnalysis:
    """Anomalies in ring samples ({"at", "values"}: an hour of one source), every metric at once."""
    started = time.perf_counter()
    if not ring:
        return HourAnalysis([], ["нет данных за последний час"], 0.0)
    times = np.array([s["at"] for s in ring], dtype=float)
    names = sorted({name for s in ring for name in s["values"]})
    nan = float("nan")
    table = np.array([[s["values"].get(n, nan) for n in names] for s in ring], dtype=float)
    columns = {name: table[:, i] for i, name in enumerate(names)}  # views, no copies
    gaps = [
        f"{name}: пропусков {int((~np.isfinite(v)).sum())}"
        for name, v in columns.items()
        if not np.isfinite(v).all()
    ]
    found = detect(columns, times, step, models)
    return HourAnalysis(found, gaps, (time.perf_counter() - started) * 1000)
