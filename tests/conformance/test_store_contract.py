"""What every store must do, run against each store implementation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labelwire.server.errors import InvalidArgument
from labelwire.server.store import Store, Tx, open_store

STORES = ["sqlite"]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(str(tmp_path / "store.db"))
    try:
        yield opened
    finally:
        opened.close()


async def job(store: Store) -> int:
    def create(tx: Tx) -> int:
        client = tx.insert_client("c", b"h", 0.0)
        return tx.insert_job(client, {"x": 1}, 1, 0.0)

    return await store.write(create)


async def test_a_failing_transaction_does_not_undo_its_neighbours(store: Store) -> None:
    job_id = await job(store)

    def good(n: int) -> object:
        return lambda tx: tx.count_job(job_id, judgments=n)

    def bad(tx: Tx) -> None:
        tx.count_job(job_id, judgments=1000)
        raise InvalidArgument("no")

    results = await asyncio.gather(
        store.write(good(1)), store.write(bad), store.write(good(2)), return_exceptions=True
    )
    assert isinstance(results[1], InvalidArgument)
    row = await store.read(lambda tx: tx.job(job_id))
    assert row is not None and int(row["judgments"]) == 3


async def test_sequences_are_gapless_under_concurrency(store: Store) -> None:
    job_id = await job(store)
    got = await asyncio.gather(*(store.write(lambda tx: tx.next_sequence(job_id)) for _ in range(200)))
    assert sorted(got) == list(range(1, 201))


async def test_an_upload_dedupes_keys_and_joins_all_at_once(store: Store) -> None:
    job_id = await job(store)
    upload = store.new_upload_id()
    await store.write(lambda tx: tx.begin_upload(upload))
    rows = [(f"k{i % 5}", "text", "p", None, None, None, None) for i in range(8)]
    repeats = await store.write(lambda tx: tx.stage_items(upload, rows, 0))
    visible = await store.read(lambda tx: tx.item_by_key(job_id, "k0"))
    added = await store.write(lambda tx: tx.commit_upload(upload, job_id, 3, 0.0))
    assert repeats == 3 and visible is None and added == (5, 0)


async def test_claimed_items_go_to_one_claimant_only(store: Store) -> None:
    job_id = await job(store)
    upload = store.new_upload_id()
    await store.write(lambda tx: tx.begin_upload(upload))
    await store.write(
        lambda tx: tx.stage_items(
            upload, [(f"k{i}", "text", "p", None, None, None, None) for i in range(10)], 0
        )
    )
    await store.write(lambda tx: tx.commit_upload(upload, job_id, 2, 0.0))
    claims = await asyncio.gather(*(store.write(lambda tx: tx.claim_items(job_id, "x", 4)) for _ in range(4)))
    keys = [r["key"] for claim in claims for r in claim]
    assert len(keys) == 10 and len(set(keys)) == 10


async def test_reopening_a_store_keeps_what_was_committed(tmp_path: Path) -> None:
    path = str(tmp_path / "again.db")
    first = open_store(path)
    job_id = await job(first)
    first.close()
    second = open_store(path)
    try:
        row = await second.read(lambda tx: tx.job(job_id))
        assert row is not None and second.version >= 1
    finally:
        second.close()
