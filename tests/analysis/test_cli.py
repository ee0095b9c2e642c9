"""`flask analysis …` on CSV files like the public anomaly benchmarks (timestamp,value)."""

import json
import shutil

import numpy as np
import pytest

from webapp.analysis.model import folder_of
from webapp.analysis.service import reload


@pytest.fixture
def cli(app, settings, trained):
    shutil.copytree(trained, folder_of(settings.instance_path), dirs_exist_ok=True)
    reload(app)
    runner = app.test_cli_runner()

    def run(*args):
        result = runner.invoke(args=["analysis", *args])
        return result

    yield run
    shutil.rmtree(folder_of(settings.instance_path))
    app.extensions.pop("mehhost.analysis", None)


def json_of(output: str) -> dict:
    return json.loads(output[output.index("{") :])


def test_generate_then_backtest_prints_mae_per_horizon_for_model_and_baselines(cli, tmp_path):
    data = tmp_path / "load.csv"
    assert cli("generate", str(data), "--days", "12", "--profile", "pc.cpu_percent").exit_code == 0
    result = cli("backtest", str(data))
    assert result.exit_code == 0, result.output
    report = json_of(result.output)
    assert set(report["horizons"]) == {"30m", "1h", "24h"}
    for horizon in report["horizons"].values():
        assert set(horizon["mae"]) == {"model", "seasonal_naive", "ewma", "holt_winters"}
        assert all("mae_pp" in score for score in horizon["mae"].values())  # a 0-100 series
    assert report["choice"] in ("model", "seasonal_naive", "ewma", "holt_winters")
    assert report["model_problems"] == []


def test_irregular_steps_and_bad_rows_are_resampled_and_counted(cli, tmp_path):
    rng = np.random.default_rng(3)
    at = np.cumsum(rng.uniform(200, 400, size=6000)) + 1_700_000_000  # about every 5 minutes
    values = 50 + 20 * np.sin(at / 86_400 * 2 * np.pi) + rng.normal(0, 1, size=at.size)
    lines = ["timestamp,value"] + [f"{t:.0f},{v:.3f}" for t, v in zip(at, values, strict=True)]
    lines[100] = "garbage"
    lines[200] = "2026-01-01T00:00:00,not-a-number"
    data = tmp_path / "irregular.csv"
    data.write_text("\n".join(lines))
    report = json_of(cli("backtest", str(data)).output)
    assert report["step_s"] == 600
    assert "пропущено нечитаемых строк: 2" in report["notes"]


def test_detect_prints_the_anomaly_windows(cli, tmp_path):
    data = tmp_path / "spiky.csv"
    generated = cli(
        "generate",
        str(data),
        "--days",
        "10",
        "--profile",
        "vds.cpu_percent",
        "--anomalies",
        "3",
        "--seed",
        "5",
    )
    injected = json_of(generated.output)["injected"]
    result = cli("detect", str(data))
    assert result.exit_code == 0, result.output
    found = json_of(result.output)["anomalies"]
    for window in injected:
        assert any(a["start"] <= window["end"] and a["end"] >= window["start"] for a in found)
    assert {"start", "end", "severity", "score"} <= set(found[0])


def test_a_missing_or_unreadable_file_is_a_clear_error(cli, tmp_path):
    missing = cli("backtest", str(tmp_path / "nope.csv"))
    assert missing.exit_code != 0 and "nope.csv" in missing.output
    empty = tmp_path / "empty.csv"
    empty.write_text("timestamp,value\n")
    result = cli("detect", str(empty))
    assert result.exit_code != 0 and "нужны хотя бы две строки" in result.output


def test_without_a_model_the_cli_says_so_and_uses_the_baselines(app, settings, tmp_path):
    assert not folder_of(settings.instance_path).exists()
    app.extensions.pop("mehhost.analysis", None)
    runner = app.test_cli_runner()
    data = tmp_path / "load.csv"
    runner.invoke(args=["analysis", "generate", str(data), "--days", "9"])
    report = json_of(runner.invoke(args=["analysis", "backtest", str(data)]).output)
    assert report["model_problems"] and "model" not in report["horizons"]["1h"]["mae"]
    app.extensions.pop("mehhost.analysis", None)


def test_replay_then_traffic_scores_each_minute_of_the_log(cli, tmp_path):
    log = tmp_path / "access.log"
    written = cli("replay", "flood", str(log), "--seed", "3")
    assert written.exit_code == 0, written.output
    with log.open("a") as handle:
        handle.write("not a log line\n")
    report = json_of(cli("traffic", str(log)).output)
    assert report["skipped_unknown_format"] == 1 and report["model_problems"] == []
    minutes = report["windows"]
    assert len(minutes) == 12 and minutes[0]["start"].endswith("+00:00")
    assert all(m["attack"] < report["alert_at"] for m in minutes[:6])
    assert all(m["attack"] >= report["alert_at"] and m["class"] == "flood" for m in minutes[6:])
