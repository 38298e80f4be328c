"""The store's fewer round trips keep every store's answers: a lease in one step,
writes held to go together (`later`), a task read with its item."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import TaskPhase, TaskState, WorkerStatus
from labelwire.server.store import Store, Tx, open_store

STORES = ["sqlite", "postgres"]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    location = (
        str(request.getfixturevalue("postgres_database"))
        if request.param == "postgres"
        else str(tmp_path / "s.db")
    )
    opened = open_store(location)
    try:
        yield opened
    finally:
        opened.close()


async def _job_with_items(store: Store, items: int, workers: int) -> tuple[int, list[int], list[int]]:
    def create(tx: Tx) -> tuple[int, list[int], list[int]]:
        client = tx.insert_client("c", b"h", 0.0)
        job_id = tx.insert_job(client, {"x": 1}, 1, 0.0)
        item_ids = [
            tx.insert(
                "INSERT INTO items (job_id, key, payload_kind, payload, is_gold, target, created_at)"
                " VALUES (?, ?, 'text', 'p', 0, 3, 0)",
                (job_id, f"i{n}"),
            )
            for n in range(items)
        ]
        worker_ids = [
            tx.insert_worker(job_id, f"w{n}", None, WorkerStatus.QUALIFIED, 0, 0.0) for n in range(workers)
        ]
        return job_id, item_ids, worker_ids

    return await store.write(create)


def _lease(job_id: int, worker_id: int) -> object:
    def lease(tx: Tx) -> tuple[int, int, int] | None:
        leased = tx.lease_next_item(
            job_id, worker_id, TaskPhase.WORK, TaskState.LEASED, 1.0, 100.0, 0, pilot=False
        )
        if leased is None:
            return None
        task_id, item = leased
        task = tx.task(task_id)
        counted = tx.item(int(item.id))
        assert task is not None and counted is not None
        return int(task.item_id), int(task.worker_id), int(counted.leased)

    return lease


async def test_a_lease_writes_the_task_and_counts_it_on_the_item(store: Store) -> None:
    job_id, items, workers = await _job_with_items(store, 2, 1)
    assert await store.write(_lease(job_id, workers[0])) == (items[0], workers[0], 1)


async def test_a_second_worker_leases_an_item_nobody_holds_on_postgres_and_the_oldest_on_sqlite(
    store: Store,
) -> None:
    """PostgreSQL spreads leases over the oldest open items, so that replicas'
    submits of one item do not arrive together; SQLite (one writer) keeps the oldest."""
    job_id, items, workers = await _job_with_items(store, 3, 2)
    await store.write(_lease(job_id, workers[0]))
    second = await store.write(_lease(job_id, workers[1]))
    assert second is not None
    assert second[0] == (items[1] if store.kind == "postgres" else items[0])


async def test_a_worker_never_leases_an_item_twice_and_a_full_item_is_skipped(store: Store) -> None:
    job_id, items, workers = await _job_with_items(store, 1, 4)
    got = [await store.write(_lease(job_id, worker)) for worker in workers]
    assert [g[0] if g else None for g in got] == [items[0]] * 3 + [None]
    assert await store.write(_lease(job_id, workers[0])) is None


async def test_held_writes_are_read_back_and_a_failing_one_fails_only_its_caller(store: Store) -> None:
    _job, _items, workers = await _job_with_items(store, 1, 1)
    worker = workers[0]

    def good(n: int) -> object:
        def work(tx: Tx) -> int:
            row = tx.worker(worker)
            assert row is not None
            tx.update_worker(worker, judgments=int(row.judgments) + n)
            after = tx.worker(worker)
            assert after is not None
            return int(after.judgments)

        return work

    def bad(tx: Tx) -> None:
        tx.update_worker(worker, gold_answered=7)
        tx.later("UPDATE workers SET display_name = NULL WHERE id = ?", (worker,))

    def refused(tx: Tx) -> None:
        tx.update_worker(worker, gold_answered=9)
        raise InvalidArgument("no")

    results = await asyncio.gather(
        store.write(good(1)),
        store.write(bad),
        store.write(refused),
        store.write(good(2)),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[3] == 3
    assert isinstance(results[1], Exception) and isinstance(results[2], InvalidArgument)
    row = await store.read(lambda tx: tx.worker(worker))
    assert row is not None
    assert (int(row.judgments), int(row.gold_answered), int(row.gold_correct)) == (3, 0, 0)


async def test_a_workers_live_lease_and_skills_are_read_as_they_are_now(store: Store) -> None:
    """PostgreSQL's writer reads a worker with its live lease, a task with its
    item and worker, and an item's judgments with their workers' skills, and keeps
    what it read: what the same transaction writes next must show in the next read."""
    job_id, items, workers = await _job_with_items(store, 2, 1)
    worker = workers[0]

    def lease_then_read(tx: Tx) -> tuple[int | None, int]:
        assert tx.worker(worker) is not None
        leased = tx.lease_next_item(
            job_id, worker, TaskPhase.WORK, TaskState.LEASED, 1.0, 100.0, 0, pilot=False
        )
        assert leased is not None
        live = tx.live_task_of(worker)
        return None if live is None else int(live.id), leased[0]

    live, task_id = await store.write(lease_then_read)
    assert live == task_id

    def judge_then_skills(tx: Tx) -> tuple[float | None, int]:
        task = tx.task(task_id)
        assert task is not None
        tx.finish_task(task_id, TaskState.SUBMITTED, 2.0)
        assert tx.worker(worker) is not None and tx.live_task_of(worker) is None
        tx.insert_judgment(task_id, job_id, items[0], worker, {"x": 1}, 5, None, 2.0)
        tx.update_worker(worker, gold_answered=4)
        assert [w for w, _ in tx.item_judgments(items[0])] == [worker]
        tx.set_skills({worker: 0.25})
        skill, answered, _ = tx.skills_of([worker])[worker]
        return skill, answered

    assert await store.write(judge_then_skills) == (0.25, 4)
