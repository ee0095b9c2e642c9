"""The engine called directly, in a process of its own as pc_node's is: the reference for the
inference bench. Each line on stdin is a job (JSON: messages, max_tokens, temperature); for
each, one generation, and a line {"rate": tokens/s, "first_ms": time to the first token} on
stdout.

python -m tests.bench.engine_alone THREADS
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from pc_node.__main__ import bundled_model
    from pc_node.engines.base import Generation
    from pc_node.engines.llama import LlamaEngine

    threads = int(sys.argv[1])
    engine = LlamaEngine(bundled_model(), context_size=1024, threads=threads)
    for line in sys.stdin:
        generation = Generation(**json.loads(line))
        started = time.perf_counter()
        first = last = None
        for _text in engine.stream(generation):
            last = time.perf_counter()
            first = first or last
        # Tokens after the first over the time they took: the same measure on every path.
        rate = (generation.tokens - 1) / max(last - first, 1e-6)
        print(json.dumps({"rate": rate, "first_ms": (first - started) * 1000}), flush=True)


if __name__ == "__main__":
    main()
