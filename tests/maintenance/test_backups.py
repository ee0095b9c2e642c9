"""Backups: a dump restored into a fresh database holds the same rows, row for row (within one
engine and from MariaDB into SQLite); a non-empty target, a wrong revision or a damaged file is
refused without touching the target; rotation; the nightly task; the admin's page."""

from __future__ import annotations

import gzip
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests import factories
from tests.schema import reset_schema
from webapp.chat.models import Dialog, Message
from webapp.db import make_engine, utcnow
from webapp.maintenance import backups, tasks
from webapp.models import metadata

MARIADB_URL = os.environ.get("MARIADB_URL", "")


@pytest.fixture
def fresh_database(database_url, tmp_path):
    """Make empty databases with the migrated schema, on the engine of the test run."""
    made = []

    def make(kind: str | None = None):
        kind = kind or ("mariadb" if database_url == MARIADB_URL else "sqlite")
        if kind == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path}/{uuid.uuid4().hex[:8]}.db")
        else:
            name = f"mehhost_backup_{uuid.uuid4().hex[:8]}"
            server = make_engine(MARIADB_URL)
            with server.begin() as connection:
                connection.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            server.dispose()
            engine = make_engine(MARIADB_URL.rsplit("/", 1)[0] + "/" + name)
            made.append(name)
        reset_schema(engine)
        return engine

    yield make
    if made:
        server = make_engine(MARIADB_URL)
        with server.begin() as connection:
            for name in made:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


def populate(engine, pii) -> None:
    with Session(engine) as session:
        owner = factories.user(session, pii, display_name="Анна «тест» ✨")
        factories.user(session, pii)
        character = factories.character(session, tags=["юмор", "sci-fi"])
        dialog = Dialog(user_id=owner.id, character_id=character.id, title="Первый")
        session.add(dialog)
        session.flush()
        for n in range(25):
            session.add(
                Message(
                    dialog_id=dialog.id,
                    role="user" if n % 2 == 0 else "assistant",
                    text=f"сообщение {n} <script>alert(1)</script>",
                    status="delivered",
                    created_at=datetime(2026, 11, 29, 12, 0, n, tzinfo=UTC),
                )
            )
        session.commit()


def rows_of(engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(
                    select(*table.columns).order_by(*table.primary_key.columns)
                )
            ]
            for table in metadata.sorted_tables
            if table.name not in backups.SKIPPED_TABLES
        }


def test_a_dump_restores_row_for_row_into_a_fresh_database(app, fresh_database, tmp_path):
    source = fresh_database()
    populate(source, app.extensions["mehhost.pii"])
    made = backups.create(source, tmp_path)
    assert made.path.stat().st_mode & 0o777 == 0o600
    header = backups.read_header(made.path)
    assert header["rows"]["messages"] == 25 and header["rows"]["users"] == 2
    target = fresh_database()
    restored = backups.restore(target, made.path)
    assert restored["messages"] == 25
    expected = rows_of(source)
    assert sum(len(rows) for rows in expected.values()) == sum(restored.values())
    assert rows_of(target) == expected
    with Session(target) as session:  # the restored database is usable: ids continue
        dialog = session.scalars(select(Dialog)).one()
        session.add(Message(dialog_id=dialog.id, role="user", text="ещё", status="sent"))
        session.commit()


@pytest.mark.skipif(not MARIADB_URL, reason="MARIADB_URL is not set")
def test_a_mariadb_dump_restores_into_sqlite(app, fresh_database, tmp_path):
    source = fresh_database("mariadb")
    populate(source, app.extensions["mehhost.pii"])
    made = backups.create(source, tmp_path)
    target = fresh_database("sqlite")
    backups.restore(target, made.path)
    assert rows_of(target) == rows_of(source)


def test_restore_refuses_a_database_with_data_or_a_damaged_file_and_changes_nothing(
    app, fresh_database, tmp_path
):
    source = fresh_database()
    populate(source, app.extensions["mehhost.pii"])
    made = backups.create(source, tmp_path)
    target = fresh_database()
    with Session(target) as session:
        factories.user(session, app.extensions["mehhost.pii"])
    before = rows_of(target)
    with pytest.raises(backups.BackupError, match="уже есть данные: users"):
        backups.restore(target, made.path)
    damaged = tmp_path / "mehhost-20260101-000000.jsonl.gz"
    lines = gzip.decompress(made.path.read_bytes()).decode().splitlines()
    damaged.write_bytes(gzip.compress(("\n".join(lines[:-3]) + "\n").encode()))
    with pytest.raises(backups.BackupError, match="копия неполная"):
        backups.restore(target, damaged, replace=True)
    assert rows_of(target) == before  # one transaction: the replace was rolled back too
    backups.restore(target, made.path, replace=True)
    assert rows_of(target) == rows_of(source)
    (tmp_path / "not-a-dump.jsonl.gz").write_bytes(b"plain text")
    with pytest.raises(backups.BackupError, match="не читается"):
        backups.read_header(tmp_path / "not-a-dump.jsonl.gz")


def test_restore_refuses_a_schema_at_another_revision(app, fresh_database, tmp_path):
    source = fresh_database()
    made = backups.create(source, tmp_path)
    target = fresh_database()
    with target.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'abc123'"))
    with pytest.raises(backups.BackupError, match="alembic upgrade"):
        backups.restore(target, made.path)


def test_rotation_keeps_the_newest(tmp_path):
    start = datetime(2026, 11, 1, 3, 40, tzinfo=UTC)
    for day in range(5):
        stamp = (start + timedelta(days=day)).strftime("%Y%m%d-%H%M%S")
        (tmp_path / f"mehhost-{stamp}.jsonl.gz").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    removed = backups.rotate(tmp_path, keep=2)
    assert removed == [
        "mehhost-20261103-034000.jsonl.gz",
        "mehhost-20261102-034000.jsonl.gz",
        "mehhost-20261101-034000.jsonl.gz",
    ]
    assert [b.name for b in backups.stored(tmp_path)] == [
        "mehhost-20261105-034000.jsonl.gz",
        "mehhost-20261104-034000.jsonl.gz",
    ]
    assert (tmp_path / "notes.txt").exists()


def test_the_admin_lists_makes_and_downloads_backups(app, client, login_as, worker_app, settings):
    folder = backups.folder_of(settings.instance_path)
    login_as("manager")
    assert client.get("/admin/backups/").status_code == 403
    login_as("admin")
    page = client.get("/admin/backups/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/admin/backups/").status_code == 400  # no CSRF token
    made = client.post("/admin/backups/", data={"csrf_token": token}, follow_redirects=True)
    body = made.get_data(as_text=True)
    assert "Резервная копия создаётся" in body
    newest = backups.stored(folder)[0]
    assert newest.name in body
    download = client.get(f"/admin/backups/{newest.name}")
    assert download.status_code == 200 and download.data[:2] == b"\x1f\x8b"
    assert client.get("/admin/backups/secrets.env").status_code == 404
    assert backups.read_header(newest.path)["revision"]
    assert utcnow() - newest.made_at < timedelta(minutes=1)


def test_the_nightly_task_dumps_and_rotates(worker_app, settings):
    result = tasks.nightly_backup.call_local()
    assert result["file"].startswith("mehhost-") and result["bytes"] > 0
