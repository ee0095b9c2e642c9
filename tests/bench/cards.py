"""Card import and prompt assembly: a 4 MB PNG card read, checked and turned into an avatar
(target ≤ 200 ms, ≤ 50 MB extra memory) against decoding the same PNG with Pillow (what the
first importer did); a prompt with a 200-entry lorebook over 20 messages (target ≤ 5 ms) against
the same prompt without a lorebook. Three runs each: the median of every run, and CPU time per
unit of work."""

from __future__ import annotations

import base64
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CARDS = Path(os.environ.get("CARDS_DIR", Path(__file__).resolve().parents[3] / "shared/data/cards"))
REAL_4MB = CARDS / "chub_Savannah_two_chara_chunks.png"


def four_mb_card() -> tuple[bytes, str]:
    """The development set's 3.9 MB Chub card when it is there, else a noise picture of the
    same size carrying a card of the same shape."""
    if REAL_4MB.exists():
        return REAL_4MB.read_bytes(), REAL_4MB.name
    from PIL import Image, PngImagePlugin

    noise = random.Random(1).randbytes(1248 * 1728 * 3 // 2)
    picture = Image.frombytes("RGB", (1248, 864), noise).resize((1248, 1728))
    card = {"spec": "chara_card_v2", "data": {"name": "Bench", "description": "x" * 3000}}
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(card).encode()).decode())
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info)
    return out.getvalue(), "synthetic noise PNG"


def runs(call, repeat: int) -> tuple[list[float], float]:
    """(median wall ms of each of three runs, CPU ms per call over all of them)."""
    call()  # warm-up
    medians, cpu_started = [], time.process_time()
    for _ in range(3):
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        medians.append(round(statistics.median(samples), 3))
    return medians, round((time.process_time() - cpu_started) * 1000 / (3 * repeat), 3)


MEMORY_PROBE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from webapp.characters import avatars, cardfile, cards

def status(name):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(name))
    return int(line.split()[1]) / 1024

blob = Path(sys.argv[2]).read_bytes()
before = status("VmRSS")
read = cardfile.read(blob)
cards.to_draft(read.card)
avatars.process(read.picture, cardfile.MAX_PICTURE_BYTES)
print(round(status("VmHWM") - before, 1))
"""


def measure(app) -> dict:
    from webapp.characters import avatars, cardfile, cards, lorebook
    from webapp.characters.story import Definition
    from webapp.chat.context import Turn, build_prompt

    blob, source = four_mb_card()

    def import_card():
        read = cardfile.read(blob)
        cards.to_draft(read.card)
        avatars.process(read.picture, cardfile.MAX_PICTURE_BYTES)

    def pillow_decode():
        from PIL import Image

        with Image.open(io.BytesIO(blob)) as image:
            image.load()

    with app.test_request_context():
        imported, imported_cpu = runs(import_card, 5)
    decoded, decoded_cpu = runs(pillow_decode, 5)
    with tempfile.NamedTemporaryFile(suffix=".png") as handle:
        handle.write(blob)
        handle.flush()
        root = str(Path(__file__).resolve().parents[2])
        probe = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, root, handle.name],
            capture_output=True,
            text=True,
            check=True,
        )
    chooser = random.Random(2)
    words = [f"слово{n}" for n in range(400)]
    book = {
        "entries": [
            {
                "keys": [chooser.choice(words), chooser.choice(words)],
                "secondary_keys": [chooser.choice(words)],
                "selective": n % 3 == 0,
                "content": " ".join(chooser.choice(words) for _ in range(40)),
                "insertion_order": n,
                "use_regex": n % 20 == 0,
                "position": "before_char" if n % 2 else "after_char",
            }
            for n in range(200)
        ],
        "recursive_scanning": True,
    }
    turns = [
        Turn(
            n, "user" if n % 2 else "assistant", " ".join(chooser.choice(words) for _ in range(60))
        )
        for n in range(1, 21)
    ]

    # A fresh Definition each time, as every reply makes one: the book is parsed per prompt.
    def with_book():
        definition = Definition("Bench", system_prompt="Ты — {{char}}.", lorebook=book)
        return build_prompt(definition, turns, user_name="Вася")

    def without():
        return build_prompt(
            Definition("Bench", system_prompt="Ты — {{char}}."), turns, user_name="Вася"
        )

    prompt, prompt_cpu = runs(with_book, 200)
    bare, bare_cpu = runs(without, 200)
    activated = len(lorebook.activate(lorebook.parse(book), [t.text for t in turns]).names)
    return {
        "card_import_4mb_source": source,
        "card_import_4mb_bytes": len(blob),
        "card_import_4mb_ms_runs": imported,
        "card_import_4mb_cpu_ms": imported_cpu,
        "card_import_4mb_extra_mb": float(probe.stdout.split()[-1]),
        "reference_pillow_decode_4mb_ms_runs": decoded,
        "reference_pillow_decode_4mb_cpu_ms": decoded_cpu,
        "prompt_200_entry_lorebook_20_messages_ms_runs": prompt,
        "prompt_200_entry_lorebook_20_messages_cpu_ms": prompt_cpu,
        "prompt_200_entry_lorebook_activated": activated,
        "reference_prompt_no_lorebook_ms_runs": bare,
        "reference_prompt_no_lorebook_cpu_ms": bare_cpu,
    }
