"""The analysis service as the rest of the app sees it: the loaded models (once per process),
metric history as 10-minute series, and the one-hour analysis the panel and alerts use."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import numpy as np
from flask import Flask
from sqlalchemy.orm import Session

from webapp.analysis import forecast
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


def forecast_metric(session: Session, models: Models, key: str, now: datetime, method: str):
    return forecast.forecast(metric_series(session, key, now), models, method)
