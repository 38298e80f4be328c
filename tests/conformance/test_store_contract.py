"""What every store must do, run against each store implementation."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.store import PostgresTx, SqliteTx, Store, Tx, open_store
from tests.conformance.store_rows import add_items, job


async def test_a_broken_transaction_fails_its_group_and_the_store_goes_on(store: Store) -> None:
    job_id = await job(store)

    def break_it(tx: Tx) -> None:
        tx.conn.execute("ROLLBACK")

    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for the lost savepoint
        await store.write(break_it)
    assert await store.write(lambda tx: tx.next_sequence(job_id)) == 1


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
    assert row is not None and int(row.judgments) == 3


async def test_a_failing_write_leaves_no_trace_and_its_neighbours_land_once(store: Store) -> None:
    """PostgreSQL's writer runs a group without savepoints and, when a caller's work
    fails, runs the group again with them: the failed work's writes must vanish
    and every other caller's must land once, with one gapless sequence each."""
    job_id = await job(store)
    before = await store.read(lambda tx: tx.job(job_id))
    assert before is not None

    def good(tx: Tx) -> int:
        return tx.next_sequence(job_id)

    def bad(tx: Tx) -> None:
        tx.next_sequence(job_id)
        tx.set_job_state(job_id, int(before.state) + 1, 1.0)
        raise InvalidArgument("no")

    results = await asyncio.gather(
        store.write(good), store.write(bad), store.write(good), store.write(good), return_exceptions=True
    )
    assert isinstance(results[1], InvalidArgument)
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3]
    assert await store.write(good) == 4
    after = await store.read(lambda tx: tx.job(job_id))
    assert after is not None and int(after.state) == int(before.state)


async def test_a_commit_that_moved_a_feed_wakes_its_streams_and_nothing_else_does(store: Store) -> None:
    """Streams are woken by the store after the commit, not by each write path
    remembering to: a label event or a change of the job's state wakes them; a
    write that touches neither, or one that fails, does not."""
    job_id, other = await job(store), await job(store)
    woken: list[set[int]] = []
    store.on_commit(lambda jobs: woken.append(set(jobs)))

    await store.write(lambda tx: tx.count_job(job_id, judgments=1))
    assert woken == []

    await store.write(lambda tx: tx.set_job_state(job_id, 2, 1.0))
    assert woken == [{job_id}]

    def label(tx: Tx) -> None:
        tx.insert_label(other, tx.next_sequence(other), 1, 1, {"a": 1}, 0.9, {}, "m", 1, True, False, 1.0)

    await store.write(label)
    assert woken == [{job_id}, {other}]

    def fails(tx: Tx) -> None:
        tx.set_job_state(job_id, 3, 2.0)
        raise InvalidArgument("no")

    with pytest.raises(InvalidArgument):
        await store.write(fails)
    assert woken == [{job_id}, {other}]


async def test_sequences_are_gapless_under_concurrency(store: Store) -> None:
    job_id = await job(store)
    got = await asyncio.gather(*(store.write(lambda tx: tx.next_sequence(job_id)) for _ in range(200)))
    assert sorted(got) == list(range(1, 201))


async def test_an_upload_dedupes_keys_and_joins_all_at_once(store: Store) -> None:
    job_id = await job(store)
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    rows = [(f"k{i % 5}", "text", "p", None, None, None, None) for i in range(8)]
    repeats = await store.write(lambda tx: tx.stage_items(upload, rows, 0))
    visible = await store.read(lambda tx: tx.item_by_key(job_id, "k0"))
    added = await store.write(lambda tx: tx.publish_items(upload, job_id, 3, 0.0, 0, 8))
    assert repeats == 3 and visible is None and added == (5, 0)


async def test_items_published_hidden_show_at_once_or_drop_without_a_trace(store: Store) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [("old", "text", "p", None, None, None, None)], 3)
    rows = [(f"k{i}", "text", "p", None, None, None, None) for i in range(30)]

    def stage(tx: Tx) -> int:
        upload = tx.begin_upload(job_id, 0.0)
        tx.stage_items(upload, rows, 0)
        return upload

    def publish_20(upload: int) -> Callable[[Tx], bool]:
        def publish(tx: Tx) -> bool:
            if not tx.claim_publish(upload, job_id, 0.0):
                return False
            assert tx.publish_items(upload, job_id, 3, 0.0, 0, 20) == (20, 0)
            return True

        return publish

    def visible(tx: Tx) -> list[str]:
        return [r.key for r in tx.open_items(job_id)]

    dropped, shown = await store.write(stage), await store.write(stage)
    assert await store.write(publish_20(dropped))
    assert not await store.write(publish_20(shown))  # one upload publishes into a job at a time
    assert await store.read(visible) == ["old"]
    while await store.write(lambda tx: tx.drop_upload(dropped, 7)):
        pass
    assert await store.read(visible) == ["old"] and not await store.read(lambda tx: tx.publishing(job_id))
    assert await store.write(publish_20(shown))
    await store.write(lambda tx: tx.end_upload(shown))
    assert len(await store.read(visible)) == 21
    leftovers = await store.write(
        lambda tx: tx.one("SELECT COUNT(*) FROM upload_items WHERE upload_id = ?", (dropped,))
    )
    assert leftovers is not None and int(leftovers[0]) == 0


async def test_claimed_items_go_to_one_claimant_only(store: Store) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [(f"k{i}", "text", "p", None, None, None, None) for i in range(10)], 2)
    claims = await asyncio.gather(*(store.write(lambda tx: tx.claim_items(job_id, "x", 4)) for _ in range(4)))
    keys = [r.key for claim in claims for r in claim]
    assert len(keys) == 10 and len(set(keys)) == 10


async def test_reopening_a_store_keeps_what_was_committed(location: str) -> None:
    first = open_store(location)
    job_id = await job(first)
    first.close()
    second = open_store(location)
    try:
        row = await second.read(lambda tx: tx.job(job_id))
        assert row is not None and second.version >= 1
    finally:
        second.close()


def test_both_stores_offer_the_same_operations() -> None:
    def operations(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(fn).parameters)
            for name, fn in vars(cls).items()
            if callable(fn) and not name.startswith("_")
        }

    assert operations(PostgresTx) == operations(SqliteTx)


async def test_one_owner_holds_a_sync_lease_until_it_lapses(store: Store) -> None:
    job_id = await job(store)

    async def hold(owner: str, now: float) -> bool:
        return await store.write(lambda tx: tx.hold_sync_lease(job_id, owner, now, 10.0))

    assert await hold("a", 100.0)
    assert not await hold("b", 105.0)
    assert await hold("a", 108.0)
    assert not await hold("b", 117.0)
    assert await hold("b", 118.5)


async def test_a_pass_lease_is_held_by_one_replica_until_given_up_or_lapsed(store: Store) -> None:
    job_id = await job(store)
    other = await job(store)

    async def hold(owner: str, now: float, on: int = job_id) -> bool:
        return await store.write(lambda tx: tx.hold_pass_lease(on, owner, now, 10.0))

    assert await hold("a", 100.0)
    assert not await hold("b", 101.0)
    assert await hold("b", 101.0, other)  # another job's pass is free
    await store.write(lambda tx: tx.drop_pass_lease(job_id, "b"))  # not b's to give up
    assert not await hold("b", 102.0)
    await store.write(lambda tx: tx.drop_pass_lease(job_id, "a"))
    assert await hold("b", 102.0)
    assert not await hold("a", 111.0)
    assert await hold("a", 112.5)
    # A sync lease and a pass lease of one job are different leases.
    assert await store.write(lambda tx: tx.hold_sync_lease(job_id, "c", 113.0, 10.0))


async def test_claims_stop_at_what_the_budget_pays_and_reserve_it(store: Store) -> None:
    job_id = await job(store)
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    await store.write(
        lambda tx: tx.stage_items(
            upload, [(f"k{i}", "text", "p", None, None, None, None) for i in range(5)], 0
        )
    )

    def publish(tx: Tx) -> None:
        tx.publish_items(upload, job_id, 2, 0.0, 0, 5)
        tx.end_upload(upload)

    await store.write(publish)
    # 2 judgments x (100 + 10) = 220 an item: 500 pays for two items, not a third
    claimed = await store.write(lambda tx: tx.claim_items(job_id, "x", 5, 100, 10, 500))
    rows = await store.read(lambda tx: [tx.item_by_key(job_id, f"k{i}") for i in range(5)])
    assert [r.key for r in claimed] == ["k0", "k1"]
    assert [(r.reserved_micros, r.claim_fee_micros, r.claimed_by) for r in rows[:3]] == [
        (220, 10, "x"),
        (220, 10, "x"),
        (0, 0, None),
    ]
    await store.write(lambda tx: tx.free_item_reservations(job_id, ["k0"]))
    after = await store.read(lambda tx: tx.item_by_key(job_id, "k0"))
    assert after is not None and after.reserved_micros == 0


async def test_a_credential_is_found_by_its_id_or_as_its_owners_legacy_key(store: Store) -> None:
    def make(tx: Tx) -> tuple[int, int]:
        fresh = tx.insert_credential(1, 7, b"new", 0.0, None)
        tx.run(
            "INSERT INTO credentials (kind, owner_id, secret_hash, legacy, created_at) VALUES (1, ?, ?, 1, 0)",
            (fresh, b"old"),
        )
        return fresh, tx.insert_credential(2, fresh, b"worker", 0.0, 9.0)

    fresh, worker = await store.write(make)
    found = await store.read(lambda tx: sorted(bytes(r.secret_hash) for r in tx.credentials_named(1, fresh)))
    await store.write(lambda tx: tx.revoke_credential(fresh, 5.0))
    await store.write(lambda tx: tx.expire_credential(worker, 20.0))
    rows = await store.read(lambda tx: (tx.credential(fresh), tx.credential(worker)))
    assert found == [b"new", b"old"]
    assert rows[0] is not None and rows[1] is not None
    assert rows[0].revoked_at == 5.0 and rows[1].expires_at == 9.0  # expiry only ever moves earlier


async def test_an_upload_heartbeat_renews_until_the_upload_is_gone(store: Store) -> None:
    job_id = await job(store)
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 1.0))
    assert await store.write(lambda tx: tx.touch_upload(upload, 50.0))
    stale = await store.read(lambda tx: [r.id for r in tx.uploads_touched_before(50.5)])
    await store.write(lambda tx: tx.end_upload(upload))
    assert stale == [upload]
    assert not await store.write(lambda tx: tx.touch_upload(upload, 60.0))


async def test_an_adapters_state_is_empty_until_put_and_replaced_whole(store: Store) -> None:
    job_id = await job(store)
    empty = await store.read(lambda tx: tx.adapter_state(job_id))
    await store.write(lambda tx: tx.put_adapter_state(job_id, {"hit": "H1", "n": 2}))
    await store.write(lambda tx: tx.put_adapter_state(job_id, {"hit": "H2"}))
    assert empty == {} and await store.read(lambda tx: tx.adapter_state(job_id)) == {"hit": "H2"}


async def test_credentials_are_listed_by_kind_and_owner_a_page_at_a_time(store: Store) -> None:
    def make(tx: Tx) -> list[int]:
        return [
            tx.insert_credential(1, 7, b"a", 0.0, None),
            tx.insert_credential(1, 8, b"b", 0.0, None),
            tx.insert_credential(1, 7, b"c", 0.0, 5.0),
            tx.insert_credential(2, 7, b"d", 0.0, None),
            tx.insert_credential(1, 7, b"e", 0.0, None),
        ]

    a, b, c, _, e = await store.write(make)
    await store.write(lambda tx: tx.revoke_credential(e, 1.0))

    def ids(rows: list[Any]) -> list[int]:
        return [int(r.id) for r in rows]

    mine = await store.read(lambda tx: ids(tx.credentials_of(1, 7, 0, 10)))
    every = await store.read(lambda tx: ids(tx.credentials_of(1, None, 0, 10)))
    page = await store.read(lambda tx: ids(tx.credentials_of(1, None, a, 2)))
    live = await store.read(lambda tx: sorted(ids(tx.live_credentials_of(1, 7, 4.0))))
    later = await store.read(lambda tx: ids(tx.live_credentials_of(1, 7, 5.0)))
    assert mine == [a, c, e] and every == [a, b, c, e] and page == [b, c]
    assert live == [a, c] and later == [a]


async def test_a_transaction_reads_back_every_change_it_made_to_a_job_or_a_worker(store: Store) -> None:
    """Rows a transaction has read are read again after its own writes: the SQLite
    store keeps them per transaction, and must forget them when their table is written."""
    job_id = await job(store)
    worker = await store.write(lambda tx: tx.insert_worker(job_id, "w", None, 2, 0, 0.0))

    def change_and_reread(tx: Tx) -> list[Any]:
        seen = [tx.job(job_id).judgments, tx.worker(worker).gold_answered]
        tx.count_job(job_id, judgments=2)
        tx.update_worker(worker, gold_answered=5)
        seen += [tx.job(job_id).judgments, tx.worker(worker).gold_answered]
        tx.set_job_state(job_id, 3, 1.0)
        tx.set_skills({worker: 0.25})
        seen += [tx.job(job_id).state, tx.worker(worker).skill]
        return seen

    assert await store.write(change_and_reread) == [0, 0, 2, 5, 3, 0.25]
    assert await store.write(lambda tx: tx.job(job_id).judgments) == 2
