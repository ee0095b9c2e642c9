"""Similarity check of a new system prompt against 1,000 existing characters."""

from __future__ import annotations

import random
import statistics

WORDS = [
    "ты",
    "весёлый",
    "строгий",
    "добрый",
    "пират",
    "капитан",
    "учёный",
    "маг",
    "воин",
    "поэт",
    "любишь",
    "море",
    "книги",
    "звёзды",
    "рассказываешь",
    "шутишь",
    "объясняешь",
    "спокойно",
    "кратко",
    "подробно",
]


def measure(app, timed, percentile) -> dict[str, float]:
    import time

    from sqlalchemy import insert

    from webapp.characters import editor
    from webapp.characters.models import Character
    from webapp.db import utcnow
    from webapp.extensions import db

    chooser = random.Random(1)
    now = utcnow()
    with app.app_context(), db.new_session() as session:
        session.execute(
            insert(Character),
            [
                {
                    "name": f"Bench {n}",
                    "name_key": f"bench {n}",
                    "description": "",
                    "system_prompt": " ".join(chooser.choice(WORDS) for _ in range(30)),
                    "greeting": "",
                    "alternate_greetings": [],
                    "examples": [],
                    "filters": [],
                    "tags": [],
                    "state": "draft",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(1000)
            ],
        )
        session.commit()
        prompt = "Ты весёлый пират, любишь море и рассказываешь байки."
        started = time.perf_counter()
        draft = editor.Draft(name="Новый", system_prompt=prompt)
        editor.most_similar(session, draft, None)  # builds the index
        build_ms = (time.perf_counter() - started) * 1000
        checks = timed(lambda: editor.most_similar(session, draft, None), 100)
    return {
        "similarity_1000_characters_p50_ms": round(statistics.median(checks), 2),
        "similarity_1000_characters_p95_ms": round(percentile(checks, 0.95), 2),
        "similarity_index_build_1000_ms": round(build_ms, 1),
    }
