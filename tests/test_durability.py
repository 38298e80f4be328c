"""The database settings that make an acknowledged judgment survive a power cut.

Killing the server (tests/test_kill_restart.py) cannot catch a store that
skips the disk flush: the page cache outlives the process. These read the
settings back from the store's own connections instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from labelwire.server.store import PostgresStore, SqliteStore, open_store
from tests.conftest import Harness

SQLITE_SYNCHRONOUS_FULL = 2


def sqlite_settings(tx: Any) -> tuple[int, str]:
    synchronous = tx.one("PRAGMA synchronous")
    journal = tx.one("PRAGMA journal_mode")
    assert synchronous is not None and journal is not None
    return int(synchronous[0]), str(journal[0]).lower()


def postgres_synchronous_commit(tx: Any) -> str:
    row = tx.one("SHOW synchronous_commit")
    assert row is not None
    return str(row[0])


async def test_sqlite_store_flushes_every_commit_to_disk_in_wal_mode(tmp_path: Any) -> None:
    """WAL lets the reader see snapshots while the one writer commits; with
    synchronous=FULL each commit fsyncs the WAL before it returns, so a judgment
    acknowledged after its commit survives power loss (NORMAL or OFF would lose
    the last commits, which is what a kill test cannot see)."""
    store = open_store(str(tmp_path / "durable.db"))
    assert isinstance(store, SqliteStore)
    try:
        writer = await store.write(sqlite_settings)
        reader = await store.read(sqlite_settings)
    finally:
        store.close()
    assert writer == (SQLITE_SYNCHRONOUS_FULL, "wal")
    assert reader == (SQLITE_SYNCHRONOUS_FULL, "wal")


async def test_postgres_store_commits_wait_for_the_write_ahead_log_flush(postgres_database: str) -> None:
    """The store never sets synchronous_commit itself and relies on the server's
    default, on: a COMMIT returns only once its WAL is flushed. A role, database
    or pooler setting of off would acknowledge judgments that a crash can lose,
    so the writer's connection must see on."""
    store = open_store(postgres_database)
    assert isinstance(store, PostgresStore)
    try:
        writer = await store.write(postgres_synchronous_commit)
    finally:
        store.close()
    assert writer == "on"


async def test_the_running_servers_store_has_the_durable_settings(server: Harness) -> None:
    store = server.running.core.store
    if isinstance(store, SqliteStore):
        assert await store.write(sqlite_settings) == (SQLITE_SYNCHRONOUS_FULL, "wal")
    elif isinstance(store, PostgresStore):
        assert await store.write(postgres_synchronous_commit) == "on"
    else:
        pytest.fail(f"no durability check for the {type(store).__name__} store")
