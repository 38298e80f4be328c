"""The SQLite writer keeps job and worker rows from one transaction to the next
(`store/sqlite_rows.py`): what it hands out must always be what the database holds,
after the counters a judgment moves, a rolled-back transaction, and a commit by
another process on the same file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelwire.server.domain.model import JobState, WorkerStatus
from labelwire.server.store import SqliteStore, Tx
from tests.conformance.store_rows import add_items, job


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "kept.db")
    try:
        yield opened
    finally:
        opened.close()


async def worker(store: SqliteStore, job_id: int, name: str) -> int:
    return await store.write(lambda tx: tx.insert_worker(job_id, name, None, int(WorkerStatus.QUIZ), 2, 0.0))


async def test_the_writers_rows_follow_a_judgments_counters(store: SqliteStore) -> None:
    job_id = await job(store)
    first, second = await worker(store, job_id, "a"), await worker(store, job_id, "b")

    def judge(tx: Tx) -> None:
        assert tx.job(job_id) is not None and tx.worker(first) is not None and tx.worker(second) is not None
        tx.count_job(job_id, judgments=1, cost_micros=7)
        tx.update_worker(first, judgments=3, last_active_at=5.0, status=int(WorkerStatus.QUALIFIED))
        tx.next_sequence(job_id)

    for _ in range(3):
        await store.write(judge)
    kept = await store.write(lambda tx: (tx.job(job_id), tx.worker(first), tx.worker(second)))
    read = await store.read(lambda tx: (tx.job(job_id), tx.worker(first), tx.worker(second)))
    assert kept == read
    assert read[0] is not None and (read[0].judgments, read[0].cost_micros, read[0].last_sequence) == (
        3,
        21,
        3,
    )
    assert read[1] is not None and read[1].status is WorkerStatus.QUALIFIED and kept[1] is not None
    assert kept[1].status is WorkerStatus.QUALIFIED


async def test_a_rolled_back_transaction_leaves_no_counted_row_behind(store: SqliteStore) -> None:
    job_id = await job(store)

    def fails(tx: Tx) -> None:
        tx.count_job(job_id, judgments=5)
        assert tx.job(job_id) is not None
        raise RuntimeError("the caller's work fails after counting")

    with pytest.raises(RuntimeError):
        await store.write(fails)
    kept = await store.write(lambda tx: tx.job(job_id))
    assert kept is not None and kept.judgments == 0


async def test_the_writer_sees_what_another_process_committed(store: SqliteStore) -> None:
    job_id = await job(store)
    worker_id = await worker(store, job_id, "a")
    await store.write(lambda tx: (tx.job(job_id), tx.worker(worker_id)))
    other = sqlite3.connect(store.path)
    with other:
        other.execute(
            "UPDATE jobs SET state = ?, spec_revision = 9 WHERE id = ?", (int(JobState.RUNNING), job_id)
        )
        other.execute(
            "UPDATE workers SET status = ? WHERE id = ?", (int(WorkerStatus.DISQUALIFIED), worker_id)
        )
    other.close()
    kept_job, kept_worker = await store.write(lambda tx: (tx.job(job_id), tx.worker(worker_id)))
    assert kept_job is not None and (kept_job.state, kept_job.spec_revision) == (JobState.RUNNING, 9)
    assert kept_worker is not None and kept_worker.status is WorkerStatus.DISQUALIFIED


async def test_one_failing_caller_among_many_leaves_the_others_counts_true(store: SqliteStore) -> None:
    job_id = await job(store)

    def count(tx: Tx, fail: bool) -> None:
        assert tx.job(job_id) is not None
        tx.count_job(job_id, judgments=1)
        if fail:
            raise RuntimeError("this caller fails after counting")

    calls = [store.write(lambda tx, fail=n % 3 == 0: count(tx, fail)) for n in range(12)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(o, RuntimeError) for o in outcomes) == 4
    kept = await store.write(lambda tx: tx.job(job_id))
    assert kept is not None and kept.judgments == 8


async def test_the_item_read_with_its_task_is_what_the_database_holds(store: SqliteStore) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [("k", "text", "p", None, None, None, None)], 3)
    worker_id = await worker(store, job_id, "a")

    def lease(tx: Tx) -> int:
        item_id = tx.work_item_ids(job_id)[0]
        return tx.insert_task(job_id, item_id, worker_id, 0, 1, 0.0, 60.0)

    task_id = await store.write(lease)

    def read(tx: Tx) -> tuple[object, ...]:
        task = tx.task(task_id)
        assert task is not None
        first = tx.item(task.item_id)
        assert tx.task(task_id) is not None  # the item is read with it again,
        tx.count_item(task.item_id, done=1)  # and changed before it is asked for
        return first, tx.item(task.item_id)

    first, after_write = await store.write(read)
    fresh = await store.read(lambda tx: tx.item(tx.work_item_ids(job_id)[0]))
    assert first is not None and after_write is not None and fresh is not None
    assert (first.done, after_write.done) == (0, 1)
    assert after_write == fresh


async def test_a_workers_live_lease_is_what_the_database_holds(store: SqliteStore) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [(f"k{n}", "text", "p", None, None, None, None) for n in range(3)], 3)
    worker_id = await worker(store, job_id, "a")
    items = await store.read(lambda tx: tx.work_item_ids(job_id))

    async def live() -> int | None:
        kept = await store.write(lambda tx: tx.live_task_of(worker_id))
        read = await store.read(lambda tx: tx.live_task_of(worker_id))
        assert kept == read
        return None if kept is None else kept.id

    def lease(item_id: int) -> object:
        return lambda tx: tx.insert_task(job_id, item_id, worker_id, 0, 1, 0.0, 60.0)

    def submit(task_id: int) -> object:
        return lambda tx: (tx.task(task_id), tx.finish_task(task_id, 2, 1.0))

    assert await live() is None
    first = await store.write(lease(items[0]))
    assert await live() == first
    await store.write(submit(first))
    assert await live() is None
    second, third = await store.write(lease(items[1])), await store.write(lease(items[2]))
    assert await live() == second
    await store.write(submit(second))
    assert await live() == third
    await store.write(lambda tx: tx.finish_task(third, 4, 2.0))  # its task not read first
    assert await live() is None
