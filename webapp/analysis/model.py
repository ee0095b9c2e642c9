"""The trained models on disk and their loading: ONNX files run with onnxruntime, one thread.

A missing, corrupt or stale model never stops the analysis: load() reports the problem (shown
in the admin panel) and the forecasts fall back to the best statistical baseline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the features change: older files are then stale
FORECAST_FILE = "forecast.onnx"
ANOMALY_FILE = "anomaly.onnx"
TRAFFIC_FILE = "traffic.onnx"
FILES = {"forecast": FORECAST_FILE, "anomaly": ANOMALY_FILE, "traffic": TRAFFIC_FILE}
META_FILE = "meta.json"
STALE_AFTER_DAYS = 30


def folder_of(instance_path: str | Path) -> Path:
    return Path(instance_path) / "analysis"


@dataclass
class Models:
    forecast: Any = None  # onnxruntime.InferenceSession
    anomaly: Any = None
    traffic: Any = None  # the calibrated attack classifier over access-log windows
    meta: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    load_ms: float = 0.0
    stamp: float | None = None  # meta.json's mtime when loaded; models_of reloads on change

    def predict(self, features: np.ndarray) -> np.ndarray:
        name = self.forecast.get_inputs()[0].name
        return self.forecast.run(None, {name: features})[0].ravel()

    def anomaly_scores(self, features: np.ndarray) -> np.ndarray:
        """Isolation Forest decision values: below 0 is unusual."""
        name = self.anomaly.get_inputs()[0].name
        return self.anomaly.run(None, {name: features})[1].ravel()

    def traffic_probabilities(self, features: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities per window, columns in traffic.CLASSES order."""
        name = self.traffic.get_inputs()[0].name
        return self.traffic.run(None, {name: features})[1]

    def quantiles(self, horizon_fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper residual quantiles (scale units) by horizon as a fraction of a day."""
        table = self.meta.get("residual_quantiles") or {
            "edges": [1.0],
            "low": [-2.0],
            "high": [2.0],
        }
        edges = np.asarray(table["edges"])
        index = np.clip(np.searchsorted(edges, horizon_fraction), 0, len(edges) - 1)
        return np.asarray(table["low"])[index], np.asarray(table["high"])[index]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _session(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        path.read_bytes(), options, providers=["CPUExecutionProvider"]
    )


def load(folder: Path, now: float | None = None) -> Models:
    """Whatever of the models can be trusted, with a Russian line for each problem found."""
    started = time.perf_counter()
    models = Models()
    meta_path = folder / META_FILE
    try:
        models.meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        models.problems.append("модель не обучена: прогнозы по статистическим методам")
        return models
    except (OSError, ValueError) as exc:
        models.problems.append(f"файл {META_FILE} повреждён ({exc}): статистические методы")
        return models
    if models.meta.get("format") != FORMAT:
        models.problems.append("модель обучена для старой версии признаков: нужно переобучить")
        return models
    trained = float(models.meta.get("trained_at", 0))
    if (now or time.time()) - trained > STALE_AFTER_DAYS * 86_400:
        models.problems.append(f"модель старше {STALE_AFTER_DAYS} дней: стоит переобучить")
    for attribute, filename in FILES.items():
        path = folder / filename
        expected = models.meta.get("sha256", {}).get(filename)
        try:
            if sha256(path) != expected:
                raise ValueError("контрольная сумма не совпадает")
            setattr(models, attribute, _session(path))
        except FileNotFoundError:
            models.problems.append(f"нет файла {filename}: статистический запасной путь")
        except Exception as exc:  # onnxruntime raises its own types for broken graphs
            log.warning("analysis model %s unusable: %s", filename, exc)
            models.problems.append(
                f"файл {filename} повреждён ({exc}): статистический запасной путь"
            )
    models.load_ms = (time.perf_counter() - started) * 1000
    return models
