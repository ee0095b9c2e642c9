"""Regular time series for analysis: reading CSV files, resampling irregular steps, reporting gaps.

Every model here works on a series with one value per fixed step (10 minutes for forecasts);
a gap stays NaN and is reported, never silently filled with zeros.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from webapp.analysis.errors import AnalysisError

STEP_S = 600  # forecasts and backtests work on 10-minute steps
DAY = 86_400 // STEP_S  # steps per day
WEEK = 7 * DAY


@dataclass
class Series:
    """Values at start + i * step seconds (UTC epoch); NaN where nothing was measured."""

    start: float
    step: float
    values: np.ndarray
    notes: list[str] = field(default_factory=list)  # gaps, NaNs and skipped rows, for the report

    def __len__(self) -> int:
        return len(self.values)

    def time_at(self, index: int) -> float:
        return self.start + index * self.step

    @property
    def percent_scale(self) -> bool:
        """A 0-100 series (CPU %, GPU %), whose errors read as percentage points."""
        finite = self.values[np.isfinite(self.values)]
        return bool(finite.size) and float(finite.min()) >= 0 and float(finite.max()) <= 100


def _parse_time(raw: str) -> float:
    raw = raw.strip()
    try:
        return float(raw)  # epoch seconds
    except ValueError:
        pass
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def read_csv(path: Path) -> tuple[list[float], list[float], list[str]]:
    """(times, values, notes) from a file with columns timestamp,value (a header row is allowed).

    Rows that cannot be read are counted and skipped; a file with nothing usable is an error.
    """
    times: list[float] = []
    values: list[float] = []
    skipped = 0
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle)):
                try:
                    at, value = _parse_time(row[0]), float(row[1])
                except (ValueError, IndexError):
                    skipped += number > 0 and bool(row)  # the first row may be a header
                    continue
                times.append(at)
                values.append(value)
    except OSError as exc:
        raise AnalysisError(f"файл {path}: {exc.strerror or exc}", "file") from exc
    notes = []
    if skipped:
        notes.append(f"пропущено нечитаемых строк: {skipped}")
    if len(times) < 2:
        raise AnalysisError(f"файл {path}: нужны хотя бы две строки timestamp,value", "file")
    return times, values, notes


def resample(times: list[float], values: list[float], step: float, notes=None) -> Series:
    """Average the readings into buckets of `step` seconds; empty buckets stay NaN."""
    order = np.argsort(np.asarray(times, dtype=float), kind="stable")
    at = np.asarray(times, dtype=float)[order]
    raw = np.asarray(values, dtype=float)[order]
    notes = list(notes or [])
    bad = ~np.isfinite(raw)
    if bad.any():
        notes.append(f"значений NaN/inf: {int(bad.sum())}")
    start = math.floor(at[0] / step) * step
    index = ((at - start) // step).astype(int)
    size = int(index[-1]) + 1
    sums = np.bincount(index[~bad], weights=raw[~bad], minlength=size)
    counts = np.bincount(index[~bad], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        series = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    missing = int((counts == 0).sum())
    if missing:
        notes.append(f"пустых шагов по {int(step)} с: {missing} из {size}")
    return Series(start, step, series, notes)


def natural_step(times: list[float]) -> float:
    """The series' own step: the median spacing of its readings (at least one second)."""
    spacing = np.diff(np.sort(np.asarray(times, dtype=float)))
    spacing = spacing[spacing > 0]
    return max(1.0, float(np.median(spacing))) if spacing.size else 1.0


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """A copy with NaNs carried forward from the last reading (and back at the very start);
    a 2-D array is filled column by column, an all-NaN column becomes zeros."""
    filled = np.array(values, dtype=float)
    finite = np.isfinite(filled)
    rows = np.arange(len(filled)).reshape((-1,) + (1,) * (filled.ndim - 1))
    index = np.where(finite, rows, 0)
    np.maximum.accumulate(index, axis=0, out=index)
    filled = np.take_along_axis(filled, index, axis=0)
    first = np.argmax(finite, axis=0)
    if filled.ndim == 1:
        filled[:first] = filled[first] if finite.any() else 0.0
        return filled if finite.any() else np.zeros_like(filled)
    for column in range(filled.shape[1]):
        head = first[column]
        filled[:head, column] = filled[head, column] if finite[:, column].any() else 0.0
        if not finite[:, column].any():
            filled[:, column] = 0.0
    return filled
