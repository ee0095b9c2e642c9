"""The development mail sink: an SMTP server on 127.0.0.1 that writes every message to a .eml file.

Run with `python -m webapp.notify.sink` (make run does). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class EmlWriter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        # One clock reading for the whole name, and a running number: names sort in the order
        # the messages arrived (two readings could straddle a second and swap two messages).
        now = time.time_ns()
        self.received += 1
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now // 1_000_000_000))
        name = f"{stamp}-{now % 1_000_000_000:09d}-{self.received:06d}.eml"
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        os.replace(tmp, path)  # readers never see a half-written file
        return "250 Message accepted"


def start_sink(directory: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(EmlWriter(directory), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    from config.settings import load_settings

    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.smtp_port)
    parser.add_argument("--dir", type=Path, default=settings.mail_sink_dir)
    args = parser.parse_args()
    controller = start_sink(args.dir, args.host, args.port)
    print(f"mail sink on {args.host}:{args.port}, writing to {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
