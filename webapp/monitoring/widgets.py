"""What the widgets show: doughnuts for the newest sample, sparklines for the last hour.

Plain numbers for server-rendered SVG (no chart library): a doughnut is a circle whose
circumference is 100, so its stroke-dasharray is the percentage itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp.bus import Bus
from webapp.monitoring import samples
from webapp.monitoring.catalogue import METRICS, WIDGETS, Metric
from webapp.monitoring.thresholds import Level, Levels, level_of

SPARK_W, SPARK_H = 120, 32


@dataclass(frozen=True)
class Doughnut:
    key: str
    label: str
    value: float | None
    unit: str  # as people read it
    percent: float  # of the metric's full scale, 0..100
    level: str  # ok, warning, critical, none (no reading)

    @property
    def number(self) -> str:
        """The value as the ring shows it in its middle ("20%", "1.4"; "—" with no reading)."""
        if self.value is None:
            return "—"
        if self.unit == "%":
            return f"{self.value:.0f}%"
        return f"{self.value:.0f}" if self.value >= 100 else f"{self.value:.1f}"

    @property
    def unit_line(self) -> str:
        """The unit under the number (none for percentages, which carry their sign)."""
        return "" if self.value is None or self.unit == "%" else self.unit

    @property
    def text(self) -> str:
        return f"{self.number} {self.unit_line}".strip()


@dataclass(frozen=True)
class Sparkline:
    key: str
    label: str
    points: str  # the polyline's "x,y x,y …" in a SPARK_W x SPARK_H box
    low: float | None
    high: float | None
    unit: str


@dataclass(frozen=True)
class Panel:
    source: str
    doughnuts: list[Doughnut]
    age_s: float | None  # seconds since the newest sample; None when there is none
    stale: bool


def _scale(metric: Metric, values: dict[str, Any]) -> float:
    scale = values.get(metric.scale_key) if metric.scale_key else None
    return float(scale) if scale else metric.scale


def doughnut(metric: Metric, values: dict[str, Any], levels: Levels | None) -> Doughnut:
    value = values.get(metric.name)
    if value is None:
        return Doughnut(metric.key, str(metric.label), None, metric.unit_label, 0.0, "none")
    percent = max(0.0, min(100.0, value / _scale(metric, values) * 100))
    level = level_of(value, levels).value if levels else Level.OK.value
    return Doughnut(
        metric.key, str(metric.label), value, metric.unit_label, round(percent, 1), level
    )


def panel(bus: Bus, source: str, levels: dict[str, Levels], now: float) -> Panel:
    sample = samples.latest(bus, source)
    values = sample["values"] if sample else {}
    rings = [doughnut(METRICS[key], values, levels.get(key)) for key in WIDGETS[source]]
    age = now - sample["at"] if sample else None
    return Panel(source, rings, age, samples.is_stale(sample, source, now))


def sparkline(metric: Metric, series: list[tuple[float, float]], since: float, until: float):
    """series: (timestamp, value) pairs; x is time over the window, y the value over its range."""
    if not series:
        return Sparkline(metric.key, str(metric.label), "", None, None, metric.unit_label)
    values = [value for _, value in series]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    width = (until - since) or 1.0
    points = " ".join(
        f"{(at - since) / width * SPARK_W:.1f},{SPARK_H - 2 - (v - low) / span * (SPARK_H - 4):.1f}"
        for at, v in series
    )
    return Sparkline(metric.key, str(metric.label), points, low, high, metric.unit_label)


def hour_graphs(bus: Bus, source: str, now: float) -> list[Sparkline]:
    since = now - 3600
    ring = samples.recent(bus, source, since=since)
    graphs = []
    for key in WIDGETS[source]:
        metric = METRICS[key]
        series = [(s["at"], s["values"][metric.name]) for s in ring if metric.name in s["values"]]
        graphs.append(sparkline(metric, series, since, now))
    return graphs
