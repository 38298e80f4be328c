"""Migration 0009 (indexes on a job's judgments and its declined tasks)
applies to a database that already holds judgments, on both stores, and the
reads it is for keep their answers."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from labelwire.server.store import open_store
from labelwire.server.store.postgres import pooling

STORES = ["sqlite", "postgres"]
ROWS = [
    "INSERT INTO clients (id, name, key_hash, created_at) VALUES (1, 'c', 'h', 0)",
    "INSERT INTO jobs (id, owner_id, spec, state, created_at, updated_at) VALUES (1, 1, '{}', 1, 0, 0)",
    "INSERT INTO jobs (id, owner_id, spec, state, created_at, updated_at) VALUES (2, 1, '{}', 1, 0, 0)",
    "INSERT INTO items (id, job_id, key, payload_kind, payload, is_gold, target, created_at)"
    " VALUES (1, 1, 'a', 'text', 'x', 0, 1, 0), (2, 2, 'b', 'text', 'y', 0, 1, 0)",
    "INSERT INTO workers (id, job_id, display_name, status, quiz_remaining, created_at)"
    " VALUES (1, 1, 'w', 2, 0, 0), (2, 2, 'v', 2, 0, 0)",
    "INSERT INTO tasks (id, job_id, item_id, worker_id, phase, state, leased_at, expires_at)"
    " VALUES (1, 1, 1, 1, 2, 2, 0, 0), (2, 2, 2, 2, 2, 5, 0, 0)",
    "INSERT INTO judgments (task_id, job_id, item_id, worker_id, answer, time_spent_ms, created_at)"
    ' VALUES (1, 1, 1, 1, \'{"classification": {"class_name": "a"}}\', 5, 0)',
]


def _scripts(store: str, up_to: int) -> list[str]:
    folder = resources.files(f"labelwire.server.store.migrations.{store}")
    scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [p.read_text() for p in scripts if int(p.name.split("_", 1)[0]) <= up_to]


def sqlite_at(path: Path, version: int, rows: list[str]) -> None:
    """A SQLite database migrated up to `version`, holding `rows`."""
    conn = sqlite3.connect(path)
    for script in _scripts("sqlite", version):
        conn.executescript(script)
    for statement in rows:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def postgres_at(url: str, version: int, rows: list[str]) -> None:
    """A PostgreSQL database migrated up to `version` (by the files' numbers,
    which have gaps), holding `rows`."""
    import psycopg

    folder = resources.files("labelwire.server.store.migrations.postgres")
    numbers = sorted(int(p.name[:4]) for p in folder.iterdir() if p.name.endswith(".sql"))
    with psycopg.connect(pooling(url)[0], autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for number, script in zip(
            [n for n in numbers if n <= version], _scripts("postgres", version), strict=True
        ):
            conn.execute(script)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
        for statement in rows:
            conn.execute(statement)


def store_at(request: pytest.FixtureRequest, tmp_path: Path, version: int, rows: list[str]) -> str:
    """The location of a database of the fixture's store (`request.param`) at `version`, holding `rows`."""
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_database"))
        postgres_at(url, version, rows)
        return url
    path = tmp_path / "store.db"
    sqlite_at(path, version, rows)
    return str(path)


@pytest.fixture(params=STORES)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at version 8 holding two jobs, one judgment and one declined task."""
    return store_at(request, tmp_path, 8, ROWS)


def _indexes(store: object, tx: object) -> set[str]:
    if getattr(store, "kind", "") == "sqlite":
        rows = tx.all("SELECT name FROM sqlite_master WHERE type = 'index'")  # type: ignore[attr-defined]
    else:
        rows = tx.all("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")  # type: ignore[attr-defined]
    return {str(r[0]) for r in rows}


async def test_migration_0009_adds_the_indexes_and_keeps_the_judgments(location: str) -> None:
    store = open_store(location)
    try:
        assert store.version >= 9
        names = await store.read(lambda tx: _indexes(store, tx))
        assert {"judgments_job", "tasks_declined"} <= names
        answers = await store.read(lambda tx: [tuple(r) for r in tx.work_answers(1)])
        assert [a[:2] for a in answers] == [(1, 1)]
        assert await store.read(lambda tx: [tuple(r) for r in tx.work_answers(2)]) == []
        declines = await store.read(lambda tx: [tuple(r) for r in tx.job_declines(2)])
        assert declines == [(2, None)]
        assert await store.read(lambda tx: tx.job_declines(1)) == []
    finally:
        store.close()


def test_the_colluder_check_reads_a_jobs_judgments_through_the_index(tmp_path: Path) -> None:
    """SQLite's plan for the check's read starts from judgments_job rather than
    scanning every judgment of every job."""
    path = tmp_path / "plan.db"
    sqlite_at(path, 8, ROWS)
    open_store(str(path)).close()
    conn = sqlite3.connect(path)
    plan = " ".join(
        str(r[3])
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT j.item_id, j.worker_id, j.answer FROM judgments j"
            " JOIN items i ON i.id = j.item_id WHERE j.job_id = ? AND j.excluded = 0 AND i.is_gold = 0",
            (1,),
        )
    )
    conn.close()
    assert "judgments_job" in plan, plan
