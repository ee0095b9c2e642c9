"""Training the forecast and anomaly models with scikit-learn and exporting them to ONNX.

Run by `flask analysis train` (and `make run` when no model exists yet). Training data: the
generator's realistic load, plus the collected history when there is enough of it. Only this
module imports scikit-learn and skl2onnx; the web processes load the ONNX files alone.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from webapp.analysis import anomaly, features, scenarios, synthetic, traffic
from webapp.analysis.model import (
    ANOMALY_FILE,
    FILES,
    FORECAST_FILE,
    FORMAT,
    META_FILE,
    TRAFFIC_FILE,
    sha256,
)
from webapp.analysis.series import DAY, WEEK, Series, fill_gaps

ORIGIN_EVERY = 5
HORIZONS_PER_ORIGIN = 6
QUANTILE_EDGES = (1 / 24, 1 / 6, 1 / 2, 1.0)  # residual bands: 1 h, 4 h, 12 h, 24 h ahead


def _rows(series: Series, rng: np.random.Generator, every: int = ORIGIN_EVERY):
    """Training rows of one series: random horizons from origins spread over it."""
    y = fill_gaps(series.values)
    ctx = features.Context.of(y, series.start, series.step)
    last = len(y) - DAY - 1
    origins = np.arange(ctx.first_origin(), last, every)
    if not origins.size:
        return None
    horizons = rng.integers(1, DAY + 1, size=(len(origins), HORIZONS_PER_ORIGIN))
    blocks_x, blocks_y = [], []
    for column in range(HORIZONS_PER_ORIGIN):
        # One horizon per origin per pass keeps matrix() vectorised over origins.
        for h in np.unique(horizons[:, column]):
            chosen = origins[horizons[:, column] == h]
            x, level, scale = features.matrix(ctx, chosen, [h])
            target = np.clip(
                (y[chosen + h] - level) / scale, -features.TARGET_CLIP, features.TARGET_CLIP
            )
            blocks_x.append(x)
            blocks_y.append(target)
    return np.concatenate(blocks_x), np.concatenate(blocks_y)


def training_series(count: int, days: float, seed: int) -> list[Series]:
    rng = np.random.default_rng(seed)
    made = [
        synthetic.generate(days, p, seed=seed + n)
        for n, p in enumerate(synthetic.PROFILES.values())
    ]
    while len(made) < count:
        made.append(synthetic.generate(days, synthetic.random_profile(rng), seed=seed + len(made)))
    return made[:count]


def _residual_quantiles(model, series: Series) -> dict:
    y = fill_gaps(series.values)
    ctx = features.Context.of(y, series.start, series.step)
    origins = np.arange(WEEK, len(y) - DAY - 1, 7)
    horizons = np.arange(1, DAY + 1)
    x, level, scale = features.matrix(ctx, origins, horizons)
    predicted = model.predict(x).reshape(len(origins), len(horizons))
    actual = (y[origins[:, None] + horizons[None, :]] - level[:, None]) / scale[:, None]
    residual = actual - predicted
    fraction = horizons / DAY
    low, high = [], []
    previous = 0.0
    for edge in QUANTILE_EDGES:
        band = residual[:, (fraction > previous) & (fraction <= edge)]
        low.append(float(np.quantile(band, 0.1)))
        high.append(float(np.quantile(band, 0.9)))
        previous = edge
    return {"edges": list(QUANTILE_EDGES), "low": low, "high": high}


TRAFFIC_SCENARIOS = 600


def traffic_windows(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and labels of `count` generated scenarios, the kinds taken in turn."""
    blocks_x, blocks_y = [], []
    for n in range(count):
        scenario = scenarios.generate(
            scenarios.TRAINING_TURN[n % len(scenarios.TRAINING_TURN)], rng
        )
        found = traffic.windows(scenario.requests)
        blocks_x.append(found.x)
        blocks_y.append(scenario.labels(found.starts))
    return np.concatenate(blocks_x), np.concatenate(blocks_y)


def _traffic_classifier(x: np.ndarray, y: np.ndarray, seed: int):
    """Histogram gradient boosting with isotonic calibration (3 folds): probabilities that mean
    what they say, so "attack at >= 0.9" is a threshold on a probability, not on a raw score.
    (Isotonic kept floods from thousands of addresses above 0.9 where sigmoid let a few slip.)"""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    booster = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, max_leaf_nodes=15, random_state=seed
    )
    return CalibratedClassifierCV(booster, method="isotonic", cv=3).fit(x, y)


@contextmanager
def _integer_missing_flags():
    """skl2onnx 1.20 gives a histogram tree's leaves a Python bool as their missing-value flag,
    which protobuf 7 refuses ("Expected an int, got a boolean"); hand it the int it means."""
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args, nodes_missing_value_tracks_true=0, **kwargs):
        flag = int(nodes_missing_value_tracks_true)
        return original(*args, nodes_missing_value_tracks_true=flag, **kwargs)

    tree_ensemble.add_node = add_node
    try:
        yield
    finally:
        tree_ensemble.add_node = original


def _export(model, sample: np.ndarray, path: Path, **options) -> None:
    from skl2onnx import to_onnx

    if hasattr(model, "predict_proba"):
        options = {"options": {id(model): {"zipmap": False}}}
    with _integer_missing_flags():
        onnx_model = to_onnx(model, sample, target_opset={"": 17, "ai.onnx.ml": 3}, **options)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(onnx_model.SerializeToString())
    os.replace(temporary, path)


def _check_classifier_export(path: Path, model, x: np.ndarray) -> None:
    """The exported classifier must reach scikit-learn's verdicts, or training fails. ONNX
    scores in float32, and an isotonic step can turn that rounding into a few hundredths on a
    rare window (or flip one that sits on the alert line), so the check allows one window in a
    thousand and a mean gap of 0.005: a broken export is far beyond either."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = 1.0 - session.run(None, {session.get_inputs()[0].name: x})[1][:, 0]
    expected = 1.0 - model.predict_proba(x)[:, 0]
    disagree = int(np.sum((exported >= traffic.ALERT_AT) != (expected >= traffic.ALERT_AT)))
    gap = float(np.abs(exported - expected).mean())
    if disagree > len(x) / 1000 or gap > 0.005:
        raise RuntimeError(
            f"{path.name}: ONNX and scikit-learn disagree on {disagree} of {len(x)} windows "
            f"(mean gap {gap:.4f})"
        )


def train(
    folder: Path,
    *,
    history: list[Series] = (),
    series_count: int = 10,
    days: float = 42,
    seed: int = 0,
    traffic_scenarios: int = TRAFFIC_SCENARIOS,
    progress=lambda message: None,
) -> dict:
    """Fit the three models, write them and meta.json into `folder`; return the meta."""
    from sklearn.ensemble import GradientBoostingRegressor, IsolationForest

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sources = training_series(series_count, days, seed) + [
        s for s in history if len(s) > 2 * DAY + DAY
    ]
    progress(f"ряды для обучения: {len(sources)} (из истории: {len(sources) - series_count})")
    parts = [part for part in (_rows(s, rng) for s in sources) if part is not None]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    progress(f"строк: {len(x)}; обучение прогноза…")
    forecast = GradientBoostingRegressor(
        loss="huber",
        n_estimators=150,
        max_depth=4,
        learning_rate=0.1,
        subsample=0.7,
        random_state=seed,
    ).fit(x, y)
    holdout = synthetic.generate(days / 2, synthetic.random_profile(rng), seed=seed + 999)
    quantiles = _residual_quantiles(forecast, holdout)
    progress("обучение детектора аномалий…")
    normal = []
    for s in sources[:series_count]:
        point, _ = anomaly.point_features(s.values, *anomaly.shape_for(s.step))
        normal.append(point[anomaly.MIN_WINDOW :])
    points = np.concatenate(normal)
    points = points[rng.choice(len(points), size=min(len(points), 20_000), replace=False)]
    forest = IsolationForest(n_estimators=50, contamination=0.01, random_state=seed).fit(points)
    progress("обучение классификатора трафика (атаки, боты, подбор паролей)…")
    traffic_x, traffic_y = traffic_windows(traffic_scenarios, rng)
    classifier = _traffic_classifier(traffic_x, traffic_y, seed)
    _export(forecast, x[:1], folder / FORECAST_FILE)
    _export(forest, points[:1], folder / ANOMALY_FILE)
    _export(classifier, traffic_x[:1], folder / TRAFFIC_FILE)
    _check_classifier_export(folder / TRAFFIC_FILE, classifier, traffic_x)
    meta = {
        "format": FORMAT,
        "trained_at": time.time(),
        "features": list(features.NAMES),
        "rows": len(x),
        "series": len(sources),
        "residual_quantiles": quantiles,
        "traffic_features": list(traffic.NAMES),
        "traffic_classes": list(traffic.CLASSES),
        "traffic_windows": len(traffic_x),
        "train_seconds": round(time.perf_counter() - started, 1),
        "sha256": {name: sha256(folder / name) for name in FILES.values()},
    }
    temporary = folder / (META_FILE + ".tmp")
    temporary.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(temporary, folder / META_FILE)
    progress(f"готово за {meta['train_seconds']} с")
    return meta
