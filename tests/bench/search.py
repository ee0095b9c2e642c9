"""Search over 100,000 of one person's messages, on SQLite (the embedded default) and, when
MARIADB_URL is set, on MariaDB (a database of its own, `mehhost_bench`, made and dropped here).

Queries: a rare word (one message), a word in 1 % of them, a word in every message (the first
page only is read: keyset), and two words of two letters (MariaDB's FULLTEXT leaves such words
out: LIKE over the person's messages). Each query 30 times a run, three runs: the range of the
three P95s, and the process's CPU per query (the database server's own CPU not counted on
MariaDB)."""

from __future__ import annotations

import base64
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

MESSAGES = 100_000
DIALOGS = 50
QUERIES = {"rare": "пингвинообразный", "one_percent": "кошк", "every": "текст", "short": "да но"}


def _fill(engine) -> int:
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from tests.factories import character, user
    from webapp.chat.models import Dialog, Message
    from webapp.db import utcnow
    from webapp.pii import PiiCipher, use_cipher

    cipher = PiiCipher(base64.urlsafe_b64encode(os.urandom(32)).decode())
    use_cipher(cipher)  # the Encrypted columns of users read the active one
    with Session(engine) as session:
        person = user(session, cipher)
        hero = character(session, name="Поиск")
        now = utcnow()
        dialogs = [Dialog(user_id=person.id, character_id=hero.id) for _ in range(DIALOGS)]
        session.add_all(dialogs)
        session.flush()
        rows = []
        for n in range(MESSAGES):
            words = ["Сообщение", str(n), "текст", "да", "но"]
            if n % 100 == 0:
                words.append("кошка")
            if n == MESSAGES // 3:
                words.append("пингвинообразный")
            rows.append(
                {
                    "dialog_id": dialogs[n % DIALOGS].id,
                    "role": "user" if n % 2 else "assistant",
                    "text": " ".join(words) + " и ещё немного слов для длины сообщения",
                    "status": "done",
                    "created_at": now + timedelta(seconds=n),
                }
            )
            if len(rows) == 5000:
                session.execute(insert(Message), rows)
                rows = []
        session.commit()
        return person.id


def _measure(engine, label: str) -> dict[str, float]:
    from sqlalchemy.orm import Session

    from webapp.chat import search

    user_id = _fill(engine)
    results: dict[str, float] = {}
    with Session(engine) as session:
        for name, query in QUERIES.items():
            p95s, cpu = [], []
            for _run in range(3):
                samples = []
                started_cpu = time.process_time()
                for _ in range(30):
                    started = time.perf_counter()
                    hits, _more = search.search(session, user_id, query)
                    samples.append((time.perf_counter() - started) * 1000)
                    session.expunge_all()
                cpu.append((time.process_time() - started_cpu) / 30 * 1000)
                p95s.append(sorted(samples)[int(len(samples) * 0.95)])
                assert hits, (label, name)
            results[f"search_100k_{label}_{name}_p95_min_ms"] = round(min(p95s), 2)
            results[f"search_100k_{label}_{name}_p95_max_ms"] = round(max(p95s), 2)
            results[f"search_100k_{label}_{name}_cpu_ms"] = round(statistics.median(cpu), 2)
    results["search_budget_p95_ms"] = 50
    return results


def measure() -> dict[str, float]:
    from sqlalchemy import create_engine, text

    from tests.schema import reset_schema
    from webapp.db import make_engine

    folder = Path(tempfile.mkdtemp(prefix="mehhost-search-"))
    engine = make_engine(f"sqlite:///{folder / 'search.db'}")
    reset_schema(engine)
    results = _measure(engine, "sqlite")
    engine.dispose()
    url = os.environ.get("MARIADB_URL")
    if url:
        server = create_engine(url)
        with server.begin() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS mehhost_bench"))
            connection.execute(text("CREATE DATABASE mehhost_bench CHARACTER SET utf8mb4"))
        server.dispose()
        engine = make_engine(url.rsplit("/", 1)[0] + "/mehhost_bench")
        try:
            reset_schema(engine)
            results.update(_measure(engine, "mariadb"))
        finally:
            engine.dispose()
            server = create_engine(url)
            with server.begin() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS mehhost_bench"))
            server.dispose()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
