"""Realistic load for training and tests: daily and weekly seasonality, slow ramps, short spikes
and correlated noise, on a 0-100 scale (CPU/GPU %) or any other range.

The shape follows a Russian-speaking chat service: quiet at 4-6 in the morning Moscow time,
a lunch bump, the peak at 21-23, busier weekends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webapp.analysis.series import STEP_S, Series

MOSCOW_OFFSET_H = 3


@dataclass(frozen=True)
class Profile:
    base: float = 30.0  # mean level
    daily: float = 25.0  # peak-to-mean of the daily cycle
    weekly: float = 6.0  # how much busier a weekend day is
    ramp_per_week: float = 2.0  # slow growth (or decline)
    noise: float = 3.0
    spikes_per_day: float = 1.5
    spike_height: float = 20.0
    low: float = 0.0
    high: float = 100.0


def _daily_shape(hours: np.ndarray) -> np.ndarray:
    """-1..1 over the local day: trough before dawn, lunch bump, evening peak."""
    evening = np.exp(-0.5 * ((hours - 21.5) / 2.5) ** 2)
    lunch = 0.45 * np.exp(-0.5 * ((hours - 13.0) / 1.5) ** 2)
    wrap = np.exp(-0.5 * ((hours + 24 - 21.5) / 2.5) ** 2)  # late evening spills past midnight
    shape = evening + lunch + wrap
    return (shape - shape.mean()) / (np.abs(shape - shape.mean()).max() or 1.0)


def generate(
    days: float,
    profile: Profile | None = None,
    *,
    seed: int = 0,
    start: float = 1_767_225_600.0,  # 2026-01-01 00:00 UTC
    step: float = STEP_S,
) -> Series:
    profile = profile or Profile()
    rng = np.random.default_rng(seed)
    count = int(days * 86_400 / step)
    times = start + np.arange(count) * step
    local_hours = ((times / 3600) + MOSCOW_OFFSET_H) % 24
    weekday = ((times / 86_400 + 3).astype(int)) % 7  # 1970-01-01 was a Thursday
    weekend = (weekday >= 5).astype(float)
    values = (
        profile.base
        + profile.daily * _daily_shape(local_hours)
        + profile.weekly * weekend
        + profile.ramp_per_week * (times - start) / (7 * 86_400)
    )
    # AR(1) noise: load wanders rather than jumping independently each step.
    shocks = rng.normal(0, profile.noise * np.sqrt(1 - 0.8**2), count)
    noise = np.empty(count)
    level = 0.0
    for i, shock in enumerate(shocks):
        level = 0.8 * level + shock
        noise[i] = level
    values += noise
    spikes = rng.poisson(profile.spikes_per_day * days)
    for _ in range(spikes):
        at = rng.integers(0, count)
        width = max(1, int(rng.integers(1, 4) * 600 / step))
        values[at : at + width] += profile.spike_height * rng.uniform(0.5, 1.0)
    return Series(float(start), float(step), np.clip(values, profile.low, profile.high))


# Profiles for the metrics we watch; training mixes them with random variations.
PROFILES = {
    "pc.cpu_percent": Profile(base=35, daily=25, noise=4),
    "pc.gpu_percent": Profile(base=45, daily=35, weekly=8, noise=6, spikes_per_day=3),
    "vds.cpu_percent": Profile(base=20, daily=12, noise=3, spikes_per_day=2),
    "vds.disk_percent": Profile(
        base=40, daily=0.5, weekly=0, ramp_per_week=0.7, noise=0.2, spikes_per_day=0
    ),
}


def random_profile(rng: np.random.Generator) -> Profile:
    base = rng.uniform(10, 60)
    return Profile(
        base=base,
        daily=rng.uniform(0, min(40, base)),
        weekly=rng.uniform(-3, 10),
        ramp_per_week=rng.uniform(-2, 4),
        noise=rng.uniform(0.5, 7),
        spikes_per_day=rng.uniform(0, 4),
        spike_height=rng.uniform(5, 35),
    )


def inject_anomalies(series: Series, count: int, seed: int = 1) -> list[tuple[int, int]]:
    """Add `count` level shifts or bursts in place; returns their (start, end) step indexes."""
    rng = np.random.default_rng(seed)
    values = series.values
    windows = []
    span = len(values) // max(1, count)
    for n in range(count):
        start = n * span + int(rng.integers(span // 4, span // 2))
        width = int(rng.integers(3, 12))
        scale = float(np.nanstd(values)) or 1.0
        values[start : start + width] += scale * rng.uniform(4, 7) * rng.choice([-1, 1])
        windows.append((start, start + width - 1))
    return windows
