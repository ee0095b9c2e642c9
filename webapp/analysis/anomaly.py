"""Anomalies: a rolling z-score over the past hour plus an Isolation Forest over each metric's
(z, change of z, deviation from the same time yesterday) vector.

A point is anomalous when its |z| passes Z_LOW and the forest finds the vector unusual (or |z|
is extreme on its own, for when the forest is missing). Neighbouring points merge into windows;
a window's severity comes from its largest |z|, and it names the metrics behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from webapp.analysis.series import fill_gaps

Z_LOW, Z_MEDIUM, Z_HIGH = 4.0, 6.0, 9.0
Z_ALONE = 7.0  # |z| that counts without the forest's agreement
MERGE_GAP = 2  # steps between anomalous points that still make one window
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
        from datetime import UTC, datetime

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
    (never itself), in units of that fit's spread: a steady daily ramp is not an anomaly."""
    y = fill_gaps(values)
    n = len(y)
    index = np.arange(n, dtype=float)
    x = index - index.mean()  # centred, so the sums below stay well conditioned

    def sums(series: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(series)])

    s1, sx, sy, sxx, sxy, syy = (sums(v) for v in (np.ones(n), x, y, x * x, x * y, y * y))
    hi = np.arange(n)
    lo = np.maximum(0, hi - window)

    def window_sum(table: np.ndarray) -> np.ndarray:
        return table[hi] - table[lo]

    count, tx, ty, txx, txy, tyy = (window_sum(t) for t in (s1, sx, sy, sxx, sxy, syy))
    count = np.maximum(count, 1)
    denominator = count * txx - tx * tx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(denominator > 1e-9, (count * txy - tx * ty) / denominator, 0.0)
    intercept = (ty - slope * tx) / count
    expected = intercept + slope * x
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
    noise = 1.4826 * float(np.median(np.abs(np.diff(y)))) if n > 2 else 0.0
    spread = np.maximum(spread, max(noise, 1e-3 * (float(np.mean(np.abs(y))) + 1.0)))
    z = (y - expected) / spread
    z[hi < MIN_WINDOW] = 0.0
    z[~np.isfinite(values)] = 0.0  # a gap is reported elsewhere, never an anomaly
    return z


def point_features(values: np.ndarray, window: int, period: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 3) float32, z) for every point of one metric."""
    z = rolling_z(values, window)
    dz = np.diff(z, prepend=z[:1])
    y = fill_gaps(values)
    spread = np.nanstd(y) or 1.0
    yesterday = np.zeros_like(y)
    if len(y) > period:
        yesterday[period:] = (y[period:] - y[:-period]) / spread
    features = np.stack([np.clip(z, -50, 50), np.clip(dz, -50, 50), np.clip(yesterday, -50, 50)])
    return features.T.astype(np.float32), z


def _severity(score: float) -> str:
    return "high" if score >= Z_HIGH else "medium" if score >= Z_MEDIUM else "low"


def flagged(z: np.ndarray, forest: np.ndarray | None) -> np.ndarray:
    strong = np.abs(z) >= Z_ALONE
    if forest is None:
        return strong
    return strong | ((np.abs(z) >= Z_LOW) & (forest < 0))


def windows(
    times: np.ndarray, flags_by_metric: dict[str, np.ndarray], z_by_metric: dict[str, np.ndarray]
) -> list[Window]:
    """Merge flagged points of every metric into windows over time."""
    any_flag = np.zeros(len(times), dtype=bool)
    for flags in flags_by_metric.values():
        any_flag |= flags
    found: list[Window] = []
    points = np.flatnonzero(any_flag)
    if not points.size:
        return found
    groups = np.split(points, np.flatnonzero(np.diff(points) > MERGE_GAP + 1) + 1)
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
    flags_by_metric, z_by_metric = {}, {}
    use_forest = models is not None and models.anomaly is not None
    for name, values in series_by_metric.items():
        features, z = point_features(np.asarray(values, dtype=float), window, period)
        forest = models.anomaly_scores(features) if use_forest else None
        flags_by_metric[name] = flagged(z, forest)
        z_by_metric[name] = z
    return windows(times, flags_by_metric, z_by_metric)
