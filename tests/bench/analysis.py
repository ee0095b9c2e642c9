"""Analysis service: model load time and memory, one-hour analysis latency and rate, forecast
error against the baselines on generated load the model never saw.

Load time and RSS are measured in a fresh process that imports only what the service needs,
so the figure is the service's own, not the bench's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HOUR_SAMPLES = 720  # one hour of PC samples at 5 s


def hour_of_samples(seed: int = 0) -> list[dict]:
    """An hour of the PC's metrics with one CPU burst and one latency spike in it."""
    rng = np.random.default_rng(seed)
    now = 1_800_000_000.0
    ring = [
        {
            "at": now - 3600 + n * 5,
            "values": {
                "cpu_percent": 40 + rng.normal(0, 3),
                "gpu_percent": 60 + rng.normal(0, 5),
                "ram_used_gb": 12 + rng.normal(0, 0.2),
                "ram_total_gb": 32.0,
                "vram_used_gb": 9 + rng.normal(0, 0.1),
                "gpu_temp_c": 65 + rng.normal(0, 1),
                "ai_first_token_ms": 300 + rng.normal(0, 30),
            },
        }
        for n in range(HOUR_SAMPLES)
    ]
    for sample in ring[400:412]:
        sample["values"]["cpu_percent"] = 97.0
    ring[600]["values"]["ai_first_token_ms"] = 900.0
    return ring


def probe(folder: Path) -> dict:
    """Run in a fresh process: load the models, analyse hours back to back on one thread."""
    started = time.perf_counter()
    from webapp.analysis import anomaly
    from webapp.analysis.model import load

    models = load(folder)
    load_ms = (time.perf_counter() - started) * 1000
    ring = hour_of_samples()
    anomaly.analyse_samples(ring, 5, models)  # warm-up
    durations = []
    for _ in range(300):
        t0 = time.perf_counter()
        anomaly.analyse_samples(ring, 5, models)
        durations.append((time.perf_counter() - t0) * 1000)
    durations.sort()
    features = np.random.default_rng(1).normal(size=(HOUR_SAMPLES, 3)).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(20):
        models.anomaly_scores(features)
    forest_ms = (time.perf_counter() - t0) / 20 * 1000
    # VmHWM, not getrusage: ru_maxrss survives exec and would count the bench that spawned us.
    status = Path("/proc/self/status").read_text()
    rss_mb = int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM")).split()[1]) / 1024
    return {
        "analysis_model_load_ms": round(load_ms, 1),
        "analysis_model_problems": len(models.problems),
        "analysis_hour_p50_ms": round(durations[len(durations) // 2], 3),
        "analysis_hour_p95_ms": round(durations[int(len(durations) * 0.95)], 3),
        "analysis_per_s_one_core": round(1000 / (sum(durations) / len(durations))),
        "analysis_peak_rss_mb": round(rss_mb, 1),
        # The forest scores only points past the z gate; scoring a whole hour would cost this.
        "analysis_forest_all_720_points_ms": round(forest_ms, 2),
        "analysis_hour_windows_found": len(anomaly.analyse_samples(ring, 5, models).windows),
    }


def forecast_errors(models) -> dict:
    from webapp.analysis import forecast, synthetic

    totals: dict[str, dict[str, list[float]]] = {}
    for n, profile in enumerate(synthetic.PROFILES.values()):
        series = synthetic.generate(21, profile, seed=10_000 + n)  # seeds training never used
        report = forecast.backtest(series, models)
        for horizon, result in report["horizons"].items():
            for method, score in result.get("mae", {}).items():
                totals.setdefault(horizon, {}).setdefault(method, []).append(score["mae"])
    out = {}
    for horizon, methods in totals.items():
        for method, values in methods.items():
            out[f"analysis_forecast_mae_pp_{horizon}_{method}"] = round(float(np.mean(values)), 3)
    return out


TRAFFIC_EVENTS = {
    "flood": lambda rng: {"hosts": int(rng.integers(200, 5000)), "rate": rng.uniform(80, 300)},
    "stuffing": lambda rng: {"hosts": int(rng.integers(100, 1000)), "rate": rng.uniform(0.15, 0.5)},
    "bot": lambda rng: {},
    "flash": lambda rng: {"growth": rng.uniform(5, 40)},
    "calm": lambda rng: {},
}


def traffic_figures(models, seeds=range(50_000, 50_020)) -> dict:
    """The attack classifier on replayed scenarios it never saw (fresh seeds, through the log
    parser): the share of event minutes that reach the alert, the flash crowds' highest score,
    calibration (Brier score and expected calibration error of the attack probability over
    every minute) and the cost of a minute of log from parsing to verdict."""
    from webapp.analysis import scenarios, traffic

    attack, truth, kinds = [], [], []
    lines_total, seconds = 0, 0.0
    for kind, event in TRAFFIC_EVENTS.items():
        for seed in seeds:
            scenario = scenarios.generate(
                kind, np.random.default_rng(seed), **event(np.random.default_rng(seed))
            )
            lines = scenarios.to_lines(scenario.requests, "combined")
            t0 = time.perf_counter()
            verdicts = traffic.classify(traffic.windows(traffic.read_lines(lines)), models)
            seconds += time.perf_counter() - t0
            lines_total += len(lines)
            starts = np.array([v.start for v in verdicts])
            attack += [v.attack for v in verdicts]
            truth += list(scenario.labels(starts) != 0)
            kinds += [kind if t >= scenario.event_at else "before" for t in starts]
    a, t, k = np.asarray(attack), np.asarray(truth, dtype=float), np.asarray(kinds)
    bins = np.minimum((a * 10).astype(int), 9)
    ece = sum(
        abs(a[bins == b].mean() - t[bins == b].mean()) * np.mean(bins == b) for b in set(bins)
    )
    out = {
        f"traffic_{kind}_minutes_alerting_share": round(
            float(np.mean(a[k == kind] >= traffic.ALERT_AT)), 3
        )
        for kind in ("flood", "stuffing", "bot")
    }
    normal = (k == "flash") | (k == "calm") | (k == "before")
    out["traffic_flash_crowd_max_attack"] = round(float(a[k == "flash"].max()), 4)
    out["traffic_normal_minutes_alerting"] = int(np.sum(a[normal] >= traffic.ALERT_AT))
    out["traffic_brier"] = round(float(np.mean((a - t) ** 2)), 4)
    out["traffic_ece"] = round(float(ece), 4)
    out["traffic_minutes_scored"] = len(a)
    out["traffic_log_lines_per_s"] = round(lines_total / seconds)
    return out


def measure(instance: Path) -> dict:
    from webapp.analysis import model, training

    folder = model.folder_of(instance)
    started = time.perf_counter()
    meta = training.train(folder)
    results = {"analysis_train_s": round(time.perf_counter() - started, 1)}
    results["analysis_model_files_kb"] = round(
        sum((folder / name).stat().st_size for name in meta["sha256"]) / 1024, 1
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.analysis", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    results.update(json.loads(done.stdout))
    loaded = model.load(folder)
    results.update(forecast_errors(loaded))
    results.update(traffic_figures(loaded))
    return results


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1]))))
