"""GPU check of pc_node: the real node CLI on a CUDA build of llama-cpp-python, read by NVML.

    python -m tests.device.gpu_node MODEL.gguf [--out result.json]

Starts `python -m pc_node --listen` with the model twice, every layer on the GPU and then none,
dials it with the API key as the VDS does through the tunnel, runs the same greedy job again and
again for a while on each, and reports first-token time, tokens a second (the node's own Done
figures) and the metrics frames the node sent (CPU, RAM and the NVML readings: GPU utilisation,
memory, temperature). Exits 1 when the GPU run did not use the GPU. Needs only pc_node's
requirements, never the web app; tests/device/gpu_check.sh runs it on a lent GPU machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from websockets.sync.client import connect

from pc_node import protocol
from pc_node.link import KEY_HEADER
from pc_node.metrics import MetricsSampler

KEY = "gpu-check-key"
PROMPT = [
    {"role": "system", "content": "Ты — дружелюбный рассказчик. Отвечай по-русски."},
    {"role": "user", "content": "Расскажи длинную историю о коте, который жил на маяке."},
]


def run_node(model: Path, gpu_layers: int, port: int, seconds: float) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "pc_node", "--listen", f"127.0.0.1:{port}", "--api-key", KEY,
        "--model", str(model), "--gpu-layers", str(gpu_layers), "--context-size", "4096",
    ]  # fmt: skip
    started = time.perf_counter()
    node = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        connection = _dial(f"ws://127.0.0.1:{port}", node)
        loaded_s = time.perf_counter() - started
        with connection:
            hello = protocol.decode(connection.recv(timeout=10))
            jobs, metrics = _jobs_for(connection, seconds)
    finally:
        node.terminate()
        log = node.communicate(timeout=30)[0].decode(errors="replace")
    rates = [job["tokens_per_s"] for job in jobs if job["tokens_per_s"]]
    return {
        "gpu_layers": gpu_layers,
        "model": getattr(hello, "model", None),
        "engine": getattr(hello, "engine", None),
        "load_and_link_s": round(loaded_s, 2),
        "jobs": len(jobs),
        "tokens": [job["tokens"] for job in jobs],
        "tokens_per_s_median": round(statistics.median(rates), 1) if rates else None,
        "first_token_ms_median": round(statistics.median(job["prompt_ms"] for job in jobs), 1)
        if jobs
        else None,
        "reply": jobs[0]["text"][:300] if jobs else "",
        "metrics_frames": metrics,
        "node_log_tail": log[-1500:],
    }


def _dial(url: str, node: subprocess.Popen, wait: float = 180.0):
    deadline = time.monotonic() + wait
    while True:
        if node.poll() is not None:
            raise SystemExit(f"pc_node exited: {node.stdout.read().decode(errors='replace')}")
        try:
            return connect(url, additional_headers={KEY_HEADER: f"Bearer {KEY}"}, compression=None)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _jobs_for(connection, seconds: float) -> tuple[list[dict], list[dict]]:
    """Greedy jobs one after another until `seconds` passed (and at least three ran), so the
    node sends metrics frames (every 5 s) while it works."""
    jobs: list[dict] = []
    metrics: list[dict] = []
    started = time.monotonic()
    while len(jobs) < 3 or time.monotonic() - started < seconds:
        job_id = uuid.uuid4().hex
        job = protocol.Job(job_id=job_id, messages=PROMPT, max_tokens=256, temperature=0.0)
        connection.send(protocol.encode(job))
        text: list[str] = []
        while True:
            message = protocol.decode(connection.recv(timeout=120))
            if isinstance(message, protocol.Metrics):
                metrics.append(message.values)
            elif isinstance(message, protocol.Delta):
                text.append(message.text)
            elif isinstance(message, protocol.Deltas):
                text.extend(delta.text for delta in message.unpack())
            elif isinstance(message, protocol.Error):
                raise SystemExit(f"the node failed the job: {message}")
            elif isinstance(message, protocol.Done):
                generating = message.generation_ms / 1000
                rate = (message.tokens - 1) / generating if generating > 0 else None
                jobs.append(
                    {
                        "tokens": message.tokens,
                        "prompt_ms": message.prompt_ms,
                        "tokens_per_s": rate,
                        "text": "".join(text),
                    }
                )
                break
    return jobs, metrics


def gpu_facts() -> dict:
    import llama_cpp

    facts = {
        "llama_cpp_python": llama_cpp.__version__,
        "supports_gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
    }
    try:
        facts["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv"],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout.strip()  # fmt: skip
    except OSError as exc:
        facts["nvidia_smi"] = f"not run: {exc}"
    return facts


def verdict(gpu: dict, cpu: dict, idle: dict) -> list[str]:
    """What is wrong, if anything: the GPU run must show NVML readings, hold model memory on
    the GPU beyond the idle reading, and generate faster than the CPU-only run."""
    problems = []
    readings = [frame for frame in gpu["metrics_frames"] if frame.get("gpu_percent") is not None]
    if not readings:
        problems.append("no GPU readings in the node's metrics frames (NVML)")
    idle_used = idle.get("gpu_memory_used_gb") or 0.0
    if readings and max(frame["gpu_memory_used_gb"] for frame in readings) <= idle_used:
        problems.append("GPU memory did not grow while the model was on the GPU")
    if not (gpu["tokens_per_s_median"] and cpu["tokens_per_s_median"]):
        problems.append("a run generated nothing")
    elif gpu["tokens_per_s_median"] <= cpu["tokens_per_s_median"]:
        problems.append("the GPU run was no faster than the CPU-only run")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result: dict = {"facts": gpu_facts(), "idle": MetricsSampler().sample()}
    result["gpu"] = run_node(args.model, -1, 8765, args.seconds)
    result["cpu"] = run_node(args.model, 0, 8766, args.seconds)
    result["problems"] = verdict(result["gpu"], result["cpu"], result["idle"])
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
