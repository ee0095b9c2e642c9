"""`flask analysis …`: backtest and detect on any timestamp,value CSV, train, generate load."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import click
import numpy as np
from flask import current_app
from flask.cli import AppGroup

from webapp.analysis import anomaly, forecast, scenarios, synthetic, traffic
from webapp.analysis.errors import AnalysisError
from webapp.analysis.model import FILES, folder_of, load
from webapp.analysis.series import STEP_S, natural_step, read_csv, resample
from webapp.analysis.service import metric_series, models_of, reload
from webapp.extensions import db
from webapp.monitoring.catalogue import METRICS

group = AppGroup("analysis", help="Load forecasts and anomaly detection on metric series.")
CSV_FILE = click.Path(dir_okay=False, path_type=Path)


def _read(path: Path) -> tuple[list[float], list[float], list[str]]:
    try:
        return read_csv(path)
    except AnalysisError as exc:
        raise click.ClickException(str(exc)) from exc


def _print(payload: dict) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=1))


@group.command("backtest")
@click.argument("file", type=CSV_FILE)
def backtest_command(file: Path) -> None:
    """MAE of the model and of each baseline at 30 min, 1 h and 24 h ahead, as JSON.

    The series is resampled to 10-minute steps (or its own, when coarser)."""
    times, values, notes = _read(file)
    own = natural_step(times)
    series = resample(
        times, values, STEP_S if own <= STEP_S else round(own / STEP_S) * STEP_S, notes
    )
    models = models_of(current_app)
    report = forecast.backtest(series, models)
    report["file"] = str(file)
    report["model_problems"] = models.problems
    report["choice"] = forecast.choose(report)
    _print(report)


@group.command("detect")
@click.argument("file", type=CSV_FILE)
def detect_command(file: Path) -> None:
    """Anomaly windows (start, end, severity, score) found in the series, as JSON."""
    times, values, notes = _read(file)
    series = resample(times, values, natural_step(times), notes)
    models = models_of(current_app)
    steps = series.start + series.step * np.arange(len(series))
    found = anomaly.detect({"value": series.values}, steps, series.step, models)
    _print(
        {
            "file": str(file),
            "points": len(series),
            "step_s": series.step,
            "notes": series.notes,
            "model_problems": models.problems,
            "anomalies": [w.as_dict() for w in found],
        }
    )


@group.command("train")
@click.option(
    "--series", "series_count", default=10, show_default=True, type=click.IntRange(2, 200)
)
@click.option("--days", default=42, show_default=True, type=click.IntRange(9, 365))
@click.option("--if-missing", is_flag=True, help="Do nothing when usable models are already there.")
def train_command(series_count: int, days: int, if_missing: bool) -> None:
    """Train the forecast, anomaly and traffic models on generated data plus the history."""
    from webapp.analysis.training import train

    folder = folder_of(current_app.extensions["mehhost.settings"].instance_path)
    if if_missing:
        present = load(folder)
        if all(getattr(present, name) is not None for name in FILES):
            click.echo(f"model already in {folder}")
            return
        click.echo("; ".join(present.problems))
    now = datetime.now(UTC)
    with db.new_session() as session:
        history = [metric_series(session, key, now, days=90) for key in METRICS]
    train(
        folder,
        history=history,
        series_count=series_count,
        days=days,
        progress=lambda message: click.echo(message, err=True),
    )
    reload(current_app)
    click.echo(f"model written to {folder}")


@group.command("generate")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--days", default=14, show_default=True, type=click.FloatRange(1, 365))
@click.option("--seed", default=0, show_default=True)
@click.option("--profile", type=click.Choice(sorted(synthetic.PROFILES)), default=None)
@click.option("--anomalies", default=0, show_default=True, type=click.IntRange(0, 1000))
def generate_command(
    file: Path, days: float, seed: int, profile: str | None, anomalies: int
) -> None:
    """Write realistic load (timestamp,value) to FILE; with --anomalies, print where they are."""
    chosen = (
        synthetic.PROFILES[profile]
        if profile
        else synthetic.random_profile(np.random.default_rng(seed))
    )
    series = synthetic.generate(days, chosen, seed=seed)
    injected = synthetic.inject_anomalies(series, anomalies, seed=seed) if anomalies else []
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value"])
        for index, value in enumerate(series.values):
            at = datetime.fromtimestamp(series.time_at(index), UTC).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([at, f"{value:.3f}"])
    click.echo(f"{len(series)} rows written to {file}", err=True)
    if injected:
        _print(
            {
                "injected": [
                    {
                        "start": datetime.fromtimestamp(series.time_at(a), UTC).isoformat(),
                        "end": datetime.fromtimestamp(series.time_at(b), UTC).isoformat(),
                    }
                    for a, b in injected
                ]
            }
        )


@group.command("traffic")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def traffic_command(file: Path) -> None:
    """Attack probability and class per minute of an access log (nginx combined or ours)."""
    with file.open(encoding="utf-8", errors="replace") as handle:
        requests = traffic.read_lines(handle)
    models = models_of(current_app)
    found = traffic.windows(requests)
    verdicts = traffic.classify(found, models)
    _print(
        {
            "file": str(file),
            "lines": requests.read,
            "skipped_unknown_format": requests.skipped,
            "model_problems": models.problems,
            "alert_at": traffic.ALERT_AT,
            "windows": [
                {**v.as_dict(), "start": datetime.fromtimestamp(v.start, UTC).isoformat()}
                for v in verdicts
            ],
        }
    )


@group.command("replay")
@click.argument("kind", type=click.Choice(scenarios.KINDS))
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["combined", "json"]), default="combined")
@click.option("--seed", default=0, show_default=True)
def replay_command(kind: str, file: Path, fmt: str, seed: int) -> None:
    """Write a generated access log: calm minutes, then the event KIND (for `traffic`)."""
    scenario = scenarios.generate(kind, np.random.default_rng(seed))
    lines = scenarios.to_lines(scenario.requests, fmt)
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    at = datetime.fromtimestamp(scenario.event_at, UTC).isoformat()
    click.echo(f"{len(lines)} lines written to {file}; the event starts at {at}", err=True)


COMMANDS = (group,)
