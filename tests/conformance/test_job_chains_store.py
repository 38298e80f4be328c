"""The store operations behind jobs that feed jobs and random pilots, on every
store: a forwarded item is added once however often (or by however many
replicas) the forward is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelwire.server.store import PostgresStore, Store, Tx, open_store
from tests.conformance.store_rows import STORES, add_items, job


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "postgres":
        opened = open_store(str(request.getfixturevalue("postgres_database")))
    else:
        opened = open_store(str(tmp_path / "store.db"))
    try:
        yield opened
    finally:
        opened.close()


def _forward(upstream_item: int, downstream_job: int):  # type: ignore[no-untyped-def]
    def run(tx: Tx) -> bool:
        source = tx.item(upstream_item)
        return tx.insert_routed_item(downstream_job, source, '{"upstream": {}}', 2, 0.0)

    return run


async def _chain(store: Store) -> tuple[int, int, int]:
    upstream, downstream = await job(store), await job(store)
    await add_items(store, upstream, [("k1", "text", "hello", None, None, None, None)], 1)
    item = await store.read(lambda tx: tx.item_by_key(upstream, "k1"))
    return upstream, downstream, int(item.id)


async def test_a_forward_adds_the_item_once_and_links_it_back(store: Store) -> None:
    upstream, downstream, item_id = await _chain(store)
    assert await store.write(_forward(item_id, downstream)) is True
    assert await store.write(_forward(item_id, downstream)) is False
    rows = await store.read(lambda tx: tx.open_items(downstream))
    assert [(r.key, r.payload, r.target) for r in rows] == [("k1", "hello", 2)]
    assert await store.read(lambda tx: tx.routed_from(int(rows[0].id))) == item_id
    assert await store.read(lambda tx: tx.has_routed_open(upstream)) is True
    await store.write(lambda tx: tx.update_item(int(rows[0].id), state=1))
    assert await store.read(lambda tx: tx.has_routed_open(upstream)) is False


async def test_a_pilot_sample_marks_only_its_items_for_dispatch(store: Store) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [(f"k{i}", "text", "p", None, None, None, None) for i in range(6)], 1)
    ids = await store.read(lambda tx: tx.work_item_ids(job_id))
    assert len(ids) == 6 and ids == sorted(ids)

    def pilot(tx: Tx) -> None:
        tx.mark_pilot([ids[4], ids[1]])
        tx.set_pilot(job_id, ids[4], 2)

    await store.write(pilot)
    worker = await store.write(lambda tx: tx.insert_worker(job_id, "w", None, 2, 0, 0.0))
    offered = await store.write(lambda tx: tx.next_work_rows(job_id, worker, 0, 10, pilot=True))
    assert [int(r.id) for r in offered] == [ids[1], ids[4]]
    assert await store.read(lambda tx: tx.has_open_pilot_items(job_id, ids[4])) is True
    assert int((await store.write(lambda tx: tx.next_work_row(job_id, worker, pilot=True))).id) == ids[1]
    await store.write(lambda tx: tx.set_pilot(job_id, None))
    offered = await store.write(lambda tx: tx.next_work_rows(job_id, worker, 0, 10, pilot=False))
    assert len(offered) == 6


async def test_two_replicas_forwarding_one_item_add_it_once(postgres_database: str) -> None:
    replicas = [PostgresStore(postgres_database), PostgresStore(postgres_database)]
    try:
        _, downstream, item_id = await _chain(replicas[0])
        results = await asyncio.gather(*(r.write(_forward(item_id, downstream)) for r in replicas * 4))
        assert sorted(results) == [False] * 7 + [True]
        rows = await replicas[1].read(lambda tx: tx.open_items(downstream))
        assert len(rows) == 1
    finally:
        for replica in replicas:
            replica.close()
