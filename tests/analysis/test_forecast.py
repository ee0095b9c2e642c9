import json
import shutil

import numpy as np
import pytest

from webapp.analysis import baselines, features, forecast, model, synthetic
from webapp.analysis.series import DAY, STEP_S, Series, fill_gaps, resample


def seasonal(days: float, noise: float = 0.0, seed: int = 0) -> Series:
    return synthetic.generate(
        days,
        synthetic.Profile(
            base=40, daily=20, weekly=0, ramp_per_week=0, noise=noise, spikes_per_day=0
        ),
        seed=seed,
    )


def test_resampling_reports_gaps_and_nans_instead_of_inventing_values():
    times = [0, 600, 1200, 3000, 3600, 4200]
    values = [1.0, 2.0, float("nan"), 4.0, 5.0, 6.0]
    series = resample(times, values, STEP_S)
    assert len(series) == 8
    assert np.isnan(series.values[2]) and np.isnan(series.values[3])
    assert any("NaN" in note for note in series.notes)
    assert any("пустых шагов" in note for note in series.notes)
    assert list(fill_gaps(series.values)[:5]) == [1.0, 2.0, 2.0, 2.0, 2.0]


def test_irregular_readings_average_into_their_step():
    series = resample([0, 100, 650, 1190, 1300], [10, 20, 30, 50, 70], STEP_S)
    assert list(series.values) == [15.0, 40.0, 70.0]


def test_seasonal_naive_and_holt_winters_learn_a_clean_daily_cycle():
    series = seasonal(9)
    y = series.values
    origins = np.arange(3 * DAY, 8 * DAY, 13)
    horizons = np.array([3, 6, DAY])
    actual = y[origins[:, None] + horizons[None, :]]
    naive = baselines.seasonal_naive(y, origins, horizons)
    holt = baselines.holt_winters(y, origins, horizons)
    flat = baselines.ewma(y, origins, horizons)
    assert np.abs(naive - actual).max() < 1e-9  # the cycle repeats exactly
    assert np.abs(holt - actual).mean() < 1.0
    assert np.abs(flat - actual).mean() > 5 * np.abs(holt - actual).mean()


def test_backtests_use_only_the_past(models):
    series = seasonal(14, noise=2, seed=4)
    changed = series.values.copy()
    cut = len(changed) - DAY
    changed[cut:] += 500  # rewrite the last day
    before = features.Context.of(series.values, series.start)
    after = features.Context.of(changed, series.start)
    origins = np.arange(DAY, cut - 1, 17)
    for h in (3, 6, DAY):
        a = forecast.forecasts_at(before, origins, h, models)
        b = forecast.forecasts_at(after, origins, h, models)
        assert set(a) == {"model", *baselines.BASELINES}
        for method in a:  # nothing known at an origin changed, so neither did its forecast
            assert np.allclose(a[method], b[method]), (method, h)


def test_the_model_beats_every_baseline_on_realistic_load_within_8_points(models):
    series = synthetic.generate(28, synthetic.PROFILES["pc.gpu_percent"], seed=42)
    report = forecast.backtest(series, models)
    for name in ("30m", "1h", "24h"):
        scores = report["horizons"][name]["mae"]
        assert scores["model"]["mae_pp"] <= 8.0, (name, scores)
    assert forecast.choose(report) in forecast.METHODS
    mean_model = np.mean(
        [report["horizons"][h]["mae"]["model"]["mae"] for h in ("30m", "1h", "24h")]
    )
    mean_best_baseline = min(
        np.mean([report["horizons"][h]["mae"][b]["mae"] for h in ("30m", "1h", "24h")])
        for b in baselines.BASELINES
    )
    assert mean_model < mean_best_baseline


def test_a_forecast_has_a_peak_an_interval_and_the_first_crossing(models):
    series = seasonal(10, noise=1, seed=2)
    result = forecast.forecast(series, models)
    assert result.method == "model" and len(result.values) == DAY
    assert np.all(result.low <= result.values) and np.all(result.values <= result.high)
    peak_at, peak_value = result.peak
    assert peak_value == pytest.approx(result.values.max())
    assert result.first_crossing(peak_value) == peak_at
    assert result.first_crossing(1e9) is None


@pytest.mark.parametrize("damage", ["missing", "corrupt", "stale_format"])
def test_a_missing_or_broken_model_falls_back_to_statistics(trained, tmp_path, damage):
    folder = tmp_path / "analysis"
    shutil.copytree(trained, folder)
    if damage == "missing":
        (folder / model.FORECAST_FILE).unlink()
    elif damage == "corrupt":
        (folder / model.FORECAST_FILE).write_bytes(b"not onnx at all")
    else:
        meta = json.loads((folder / model.META_FILE).read_text())
        meta["format"] = -1
        (folder / model.META_FILE).write_text(json.dumps(meta))
    loaded = model.load(folder)
    assert loaded.forecast is None and loaded.problems
    result = forecast.forecast(seasonal(9), loaded)
    assert result.method == "holt_winters" and len(result.values) == DAY


def test_no_model_at_all_is_reported_and_short_series_still_forecast(tmp_path):
    loaded = model.load(tmp_path / "nothing")
    assert "не обучена" in loaded.problems[0]
    short = Series(0, STEP_S, np.array([5.0, 6.0, 7.0]))
    assert forecast.forecast(short, loaded).method == "ewma"
