"""A scripted pc_node for load benchmarks: every delta carries the wall time it was produced.

python -m tests.bench.fast_node WS_URL KEY_FILE CAPACITY TOKENS INTERVAL_S [SWITCH_FILE:TOKENS]

With SWITCH_FILE:TOKENS, replies that start once SWITCH_FILE exists are TOKENS long instead.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pc_node.engines.base import EngineInfo, Generation
from pc_node.link import dial_forever
from pc_node.node import NodeRunner


class StampingEngine:
    """Named as what it is: a fake engine whose every piece of text is a timestamp."""

    def __init__(self, tokens: int, interval: float, switch: str = "") -> None:
        self.tokens = tokens
        self.interval = interval
        self.switch, _, later = switch.rpartition(":")
        self.later = int(later) if later else tokens
        self.info = EngineInfo("scripted-fake", "stamping", 2048)

    def stream(self, generation: Generation) -> Iterator[str]:
        switched = self.switch and Path(self.switch).exists()
        for _ in range(self.later if switched else self.tokens):
            if generation.cancel.is_set():
                return
            time.sleep(self.interval)
            generation.tokens += 1
            yield f"[{time.time():.6f}]"


def main() -> None:
    url, key_file, capacity, tokens, interval = sys.argv[1:6]
    switch = sys.argv[6] if len(sys.argv) > 6 else ""
    with open(key_file, encoding="utf-8") as handle:
        key = handle.read().strip()
    runner = NodeRunner(
        StampingEngine(int(tokens), float(interval), switch),
        node_id="load",
        capacity=int(capacity),
    )
    dial_forever(url, key, runner, threading.Event())


if __name__ == "__main__":
    main()
