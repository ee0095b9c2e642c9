"""The analysis service as the rest of the app sees it: the loaded models (once per process),
metric history as 10-minute series, and the one-hour analysis the panel and alerts use."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy.orm import Session

from webapp.analysis.anomaly import HourAnalysis, analyse_samples
from webapp.analysis.model import META_FILE, Models, folder_of, load
from webapp.analysis.series import STEP_S, Series, resample
from webapp.bus import Bus
from webapp.monitoring import samples
from webapp.monitoring.catalogue import INTERVAL_S, METRICS, SOURCES

HISTORY_DAYS = 14  # enough for weekly lags and a fair Holt-Winters start
_lock = threading.Lock()


def _stamp(folder: Path) -> float | None:
    try:
        return (folder / META_FILE).stat().st_mtime
    except OSError:
        return None


def models_of(app: Flask) -> Models:
    """This process's models, loaded on first use and again whenever training (in any process:
    the CLI, the worker) has written a new meta.json since."""
    folder = folder_of(app.extensions["mehhost.settings"].instance_path)
    stamp = _stamp(folder)
    models = app.extensions.get("mehhost.analysis")
    if models is None or models.stamp != stamp:
        with _lock:
            models = app.extensions.get("mehhost.analysis")
            if models is None or models.stamp != stamp:
                models = load(folder)
                models.stamp = stamp
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


def recent_anomalies(bus: Bus, models: Models | None, now: float) -> dict[str, HourAnalysis]:
    """The last hour of each source's ring analysed for anomalies."""
    return {
        source: analyse_samples(
            samples.recent(bus, source, since=now - 3600), INTERVAL_S[source], models
        )
        for source in SOURCES
    }
