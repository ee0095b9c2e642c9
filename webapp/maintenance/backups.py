"""Database backups: a logical dump of every table, restorable into a fresh database of either
kind (SQLite or MariaDB), with rotation.

A dump is one gzip file of JSON lines: a header (format, the Alembic revision, the time, rows per
table), then one line per row as {"t": table, "r": [values in column order]}. It is read in one
transaction, so it is a consistent snapshot (InnoDB's repeatable read; SQLite's read lock).
Restore needs the target schema at the dump's revision (`alembic upgrade <revision>`), refuses
a database that already holds rows unless told to replace them, and inserts parents before
children in one transaction: a failed restore leaves the target as it was.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, LargeBinary, MetaData, Table, func, insert, select
from sqlalchemy.engine import Connection, Engine

from webapp.models import metadata as app_metadata

FORMAT = 1
KEEP = 14  # newest dumps kept by rotation
BATCH = 1000
NAME = re.compile(r"^mehhost-\d{8}-\d{6}\.jsonl\.gz$")
# The lock row comes with the schema (its migration), heartbeats are minutes old by any restore.
SKIPPED_TABLES = {"alembic_version", "inference_locks", "inference_nodes"}


class BackupError(RuntimeError):
    """The dump cannot be read or restored here; the message says why, in Russian."""


@dataclass(frozen=True)
class Backup:
    name: str
    path: Path
    size: int
    made_at: datetime


def folder_of(instance_path: str | Path) -> Path:
    return Path(instance_path) / "backups"


def _revision(connection: Connection) -> str | None:
    try:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except Exception:
        connection.rollback()
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _decoder(column):
    kind = column.type
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(kind, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(kind, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    return None


def _tables(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def create(engine: Engine, folder: Path, now: datetime | None = None) -> Backup:
    """Dump every table of the app's schema into a new file in `folder`."""
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"mehhost-{now.strftime('%Y%m%d-%H%M%S')}.jsonl.gz"
    path, temporary = folder / name, folder / f".{name}.tmp"
    # A read-only transaction: a consistent snapshot that does not hold SQLite's write lock.
    with engine.connect().execution_options(read_only=True) as connection, connection.begin():
        counts = {
            t.name: connection.scalar(select(func.count()).select_from(t))
            for t in _tables(app_metadata)
        }
        header = {
            "format": FORMAT,
            "revision": _revision(connection),
            "made_at": now.isoformat(),
            "dialect": engine.dialect.name,
            "rows": counts,
        }
        with gzip.open(temporary, "wt", encoding="utf-8", compresslevel=6) as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for table in _tables(app_metadata):
                ordered = select(*table.columns).order_by(*table.primary_key.columns)
                for row in connection.execute(ordered).yield_per(BATCH):
                    line = {"t": table.name, "r": [_encode(v) for v in row]}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.chmod(temporary, 0o600)  # the dump holds (encrypted) personal data and password hashes
    temporary.replace(path)
    return Backup(name, path, path.stat().st_size, now)


def read_header(path: Path) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            header = json.loads(source.readline())
    except (OSError, ValueError, EOFError) as exc:
        raise BackupError(f"файл копии не читается: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("это не резервная копия mehhost или её формат не поддерживается")
    return header


def restore(engine: Engine, path: Path, replace: bool = False) -> dict[str, int]:
    """Load the dump into `engine`'s database (schema at the dump's revision); return rows per
    table. With `replace`, rows already there are deleted first, in the same transaction."""
    header = read_header(path)
    tables = {t.name: t for t in _tables(app_metadata)}
    restored = dict.fromkeys(tables, 0)
    with engine.connect() as connection, connection.begin():
        revision = _revision(connection)
        if header["revision"] and revision != header["revision"]:
            raise BackupError(
                f"схема базы на ревизии {revision or 'без Alembic'}, а копия снята на "
                f"{header['revision']}: сначала alembic upgrade {header['revision']}"
            )
        present = {
            name: connection.scalar(select(func.count()).select_from(table))
            for name, table in tables.items()
        }
        if any(present.values()):
            if not replace:
                busy = ", ".join(f"{n} ({c})" for n, c in present.items() if c)
                raise BackupError(f"в базе уже есть данные: {busy}; восстановление не начато")
            for table in reversed(list(tables.values())):
                connection.execute(table.delete())
        decoders = {
            name: [_decoder(column) for column in table.columns] for name, table in tables.items()
        }
        pending: dict[str, list[dict]] = {}
        with gzip.open(path, "rt", encoding="utf-8") as source:
            source.readline()
            for number, raw in enumerate(source, start=2):
                try:
                    line = json.loads(raw)
                    table = tables[line["t"]]
                except (ValueError, KeyError) as exc:
                    raise BackupError(f"строка {number} копии повреждена: {exc}") from None
                values = [
                    decode(v) if decode else v
                    for decode, v in zip(decoders[table.name], line["r"], strict=True)
                ]
                batch = pending.setdefault(table.name, [])
                batch.append(dict(zip(table.columns.keys(), values, strict=True)))
                if len(batch) >= BATCH:
                    _flush(connection, table, batch, restored)
        for name, batch in pending.items():
            _flush(connection, tables[name], batch, restored)
        expected = header.get("rows", {})
        wrong = {n: (restored.get(n, 0), c) for n, c in expected.items() if restored.get(n, 0) != c}
        if wrong:
            raise BackupError(f"копия неполная (восстановлено, ожидалось): {wrong}")
    return restored


def _flush(connection: Connection, table: Table, batch: list[dict], restored: dict) -> None:
    if batch:
        connection.execute(insert(table), batch)
        restored[table.name] += len(batch)
        batch.clear()


def stored(folder: Path) -> list[Backup]:
    """The dumps in `folder`, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if NAME.match(path.name):
            made = datetime.strptime(path.name[8:23], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
            found.append(Backup(path.name, path, path.stat().st_size, made))
    return sorted(found, key=lambda b: b.made_at, reverse=True)


def rotate(folder: Path, keep: int = KEEP) -> list[str]:
    """Delete all but the newest `keep` dumps; return the names deleted."""
    removed = []
    for backup in stored(folder)[keep:]:
        backup.path.unlink(missing_ok=True)
        removed.append(backup.name)
    return removed
