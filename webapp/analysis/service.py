"""The analysis service as the rest of the app sees it: the loaded models (once per process),
metric history as 10-minute series, and the one-hour analysis the panel and alerts use."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from flask import Flask
from sqlalchemy.orm import Session

from webapp.analysis import anomaly, forecast
from webapp.analysis.model import Models, folder_of, load
from webapp.analysis.series import STEP_S, Series, resample
from webapp.monitoring import samples
from webapp.monitoring.catalogue import METRICS

HISTORY_DAYS = 14  # enough for weekly lags and a fair Holt-Winters start
_lock = threading.Lock()


def models_of(app: Flask) -> Models:
    """This process's models, loaded on first use; reload() after training."""
    models = app.extensions.get("mehhost.analysis")
    if models is None:
        with _lock:
            models = app.extensions.get("mehhost.analysis")
            if models is None:
                models = load(folder_of(app.extensions["mehhost.settings"].instance_path))
                app.extensions["mehhost.analysis"] = models
    return models


def reload(app: Flask) -> Models:
    app.extensions.pop("mehhost.analysis", None)
    return models_of(app)


def metric_series(session: Session, key: str, now: datetime, days: int = HISTORY_DAYS) -> Series:
    """One catalogue metric's stored history as a 10-minute series ending at `now`."""
    metric = METRICS[key]
    since = now - timedelta(days=days)
    points = samples.history(session, metric.source, metric.name, since, now)
    if len(points) < 2:
        return Series(since.timestamp(), STEP_S, np.full(1, np.nan), ["нет истории"])
    return resample([p.bucket.timestamp() for p in points], [p.mean for p in points], STEP_S)


@dataclass
class HourAnalysis:
    """The last hour's anomalies over every metric of a source, and how long it took."""

    windows: list[anomaly.Window]
    gaps: list[str]
    elapsed_ms: float


def analyse_hour(samples_list: list[dict], step: float, models: Models | None) -> HourAnalysis:
    """Anomalies in one hour of ring samples ({"at", "values"}), every metric at once."""
    started = time.perf_counter()
    if not samples_list:
        return HourAnalysis([], ["нет данных за последний час"], 0.0)
    times = np.array([s["at"] for s in samples_list], dtype=float)
    names = sorted({name for s in samples_list for name in s["values"]})
    columns = {
        name: np.array([s["values"].get(name, np.nan) for s in samples_list], dtype=float)
        for name in names
    }
    gaps = [
        f"{name}: пропусков {int((~np.isfinite(v)).sum())}"
        for name, v in columns.items()
        if not np.isfinite(v).all()
    ]
    found = anomaly.detect(columns, times, step, models)
    return HourAnalysis(found, gaps, (time.perf_counter() - started) * 1000)


def forecast_metric(session: Session, models: Models, key: str, now: datetime, method: str):
    return forecast.forecast(metric_series(session, key, now), models, method)
