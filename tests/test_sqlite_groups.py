"""The SQLite writer runs a group of callers without savepoints first and, when
one caller's work fails, runs the group again with a savepoint each
(`store/base.py`): a caller's failure must still be its own, and no caller may
write outside the group's transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.store import SqliteStore, Tx
from tests.conformance.store_rows import job


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "groups.db")
    try:
        yield opened
    finally:
        opened.close()


def hold(tx: Tx) -> None:
    """Keeps the writer busy while the callers after it queue up as one group."""
    time.sleep(0.1)


async def judgments(store: SqliteStore, job_id: int) -> int:
    row = await store.read(lambda tx: tx.job(job_id))
    assert row is not None
    return int(row.judgments)


async def test_a_failing_caller_in_a_group_rolls_back_alone(store: SqliteStore) -> None:
    job_id = await job(store)

    def count(n: int) -> object:
        return lambda tx: tx.count_job(job_id, judgments=n)

    def bad(tx: Tx) -> None:
        tx.count_job(job_id, judgments=1000)
        raise InvalidArgument("no")

    results = await asyncio.gather(
        store.write(hold),
        store.write(count(1)),
        store.write(bad),
        store.write(count(2)),
        store.write(count(4)),
        return_exceptions=True,
    )
    assert [isinstance(r, InvalidArgument) for r in results] == [False, False, True, False, False]
    assert await judgments(store, job_id) == 7


async def test_work_that_ends_the_transaction_fails_its_group_and_lands_nothing(store: SqliteStore) -> None:
    job_id = await job(store)

    def count(tx: Tx) -> None:
        tx.count_job(job_id, judgments=1)

    def end(tx: Tx) -> None:
        tx.conn.execute("ROLLBACK")

    results = await asyncio.gather(
        store.write(hold),
        store.write(count),
        store.write(end),
        store.write(count),
        return_exceptions=True,
    )
    assert all(isinstance(r, Exception) for r in results[1:])
    assert await judgments(store, job_id) == 0
    assert await store.write(lambda tx: tx.next_sequence(job_id)) == 1
