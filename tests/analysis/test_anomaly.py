import json

import numpy as np
import pytest

from webapp.analysis import anomaly, synthetic


def clean(seed: int):
    profile = synthetic.Profile(base=40, daily=25, noise=3, spikes_per_day=0)
    return synthetic.generate(14, profile, seed=seed)


def times_of(series):
    return series.start + series.step * np.arange(len(series))


@pytest.mark.parametrize("seed", range(4))
def test_injected_anomalies_are_found_and_normal_load_is_left_alone(models, seed):
    series = clean(seed)
    quiet = anomaly.detect({"cpu": series.values.copy()}, times_of(series), series.step, models)
    # Nothing that would alert anyone (medium/high); a rare low note for the panel at most.
    assert all(w.severity == "low" for w in quiet) and len(quiet) <= 2  # two weeks of load
    injected = synthetic.inject_anomalies(series, 5, seed=seed)
    found = anomaly.detect({"cpu": series.values}, times_of(series), series.step, models)
    times = times_of(series)
    for start, end in injected:
        hits = [w for w in found if w.start <= times[end] and w.end >= times[start]]
        assert hits, (start, end)
        assert hits[0].severity in ("medium", "high") and hits[0].metrics == ["cpu"]
    assert len(found) <= 2 * len(injected)  # a shift and its return at most


def test_windows_name_the_metrics_behind_them_and_gaps_are_not_anomalies(models):
    series = clean(7)
    gpu = series.values.copy()
    ram = clean(8).values.copy()
    gpu[500:504] += 60
    ram[1000:1003] = np.nan  # a gap, not an anomaly
    found = anomaly.detect({"gpu": gpu, "ram": ram}, times_of(series), series.step, models)
    burst = [w for w in found if w.start <= series.time_at(503) and w.end >= series.time_at(500)]
    assert [w.metrics for w in burst] == [["gpu"]] and burst[0].severity == "high"
    assert all("ram" not in w.metrics for w in found)


def test_one_hour_of_ring_samples_is_analysed_with_gaps_reported(models):
    now = 1_800_000_000.0
    rng = np.random.default_rng(0)
    ring = [
        {
            "at": now - 3600 + n * 5,
            "values": {"cpu_percent": 30 + rng.normal(0, 2), "gpu_percent": 50.0},
        }
        for n in range(720)
    ]
    for sample in ring[600:606]:
        sample["values"]["cpu_percent"] = 99.0
    del ring[100]["values"]["gpu_percent"]
    result = anomaly.analyse_samples(ring, 5, models)
    assert [w.metrics for w in result.windows] == [["cpu_percent"]]
    assert result.gaps == ["gpu_percent: пропусков 1"]
    assert anomaly.analyse_samples([], 5, models).gaps == ["нет данных за последний час"]


def test_detection_without_the_forest_still_flags_extreme_values():
    series = clean(3)
    series.values[700:705] += 80
    found = anomaly.detect({"v": series.values}, times_of(series), series.step, None)
    assert len(found) >= 1 and found[0].severity == "high"
    json.dumps([w.as_dict() for w in found])  # serialisable for the CLI
