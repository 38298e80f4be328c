"""Several writer connections in one PostgreSQL replica (`--database-writers`):
two writers of one process lease, spend and feed as two replicas do, since
nothing but row locks orders them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from labelwire.server.store import PostgresStore, Tx
from tests.conformance.store_rows import item_row, job
from tests.conformance.test_store_replicas import feed, feed_items, items_to_lease, label_on

WAIT = 30.0  # how long a test's work waits for the other writer before failing, never reached when it works


async def started(
    store: PostgresStore, fn: Callable[[Tx], object], running: threading.Event
) -> asyncio.Future[object]:
    """Submits `fn` and returns once a writer runs it, so the next write goes to the other writer."""
    future = asyncio.ensure_future(store.write(fn))
    while not running.is_set():
        await asyncio.sleep(0.01)
    return future


async def test_two_writers_of_one_replica_never_lease_one_slot_twice(postgres_database: str) -> None:
    """Writer A leases the job's one slot and holds its transaction open; writer B,
    asking for the same slot meanwhile, skips A's locked item and gets nothing."""
    store = PostgresStore(postgres_database, writers=2)
    try:
        job_id, (first, second) = await items_to_lease(store, 1, 1, workers=2)
        a_holds, b_done = threading.Event(), threading.Event()

        def lease_and_hold(tx: Tx) -> int | None:
            item = _lease_now(job_id, first)(tx)
            a_holds.set()
            assert b_done.wait(WAIT)
            return item

        a = await started(store, lease_and_hold, a_holds)
        b_result = await store.write(_lease_now(job_id, second))  # the other writer: A's is busy
        b_done.set()
        a_result = await a
        assert a_result is not None and b_result is None
        counted = await store.read(lambda tx: tx.all("SELECT leased FROM items WHERE job_id = %s", (job_id,)))
        assert [int(r[0]) for r in counted] == [1]
    finally:
        store.close()


def _lease_now(job_id: int, worker_id: int) -> Callable[[Tx], int | None]:
    def run(tx: Tx) -> int | None:
        got = tx.lease_next_item(job_id, worker_id, 2, 1, 0.0, 60.0, 0, pilot=False)
        return None if got is None else got[1].id

    return run


async def test_many_leases_over_four_writers_lease_each_slot_once(postgres_database: str) -> None:
    store = PostgresStore(postgres_database, writers=4)
    try:
        items, target = 10, 3
        job_id, workers = await items_to_lease(store, items, target, workers=3 * items * target)

        def lease(worker_id: int) -> Callable[[Tx], int | None]:
            def run(tx: Tx) -> int | None:
                item = _lease_now(job_id, worker_id)(tx)
                time.sleep(0.002)  # keeps the transaction open so that other writers take groups meanwhile
                return item

            return run

        waiting, leased = list(workers), []
        while waiting:
            got = await asyncio.gather(*(store.write(lease(w)) for w in waiting))
            if not any(got):
                break
            leased += [item for item in got if item is not None]
            waiting = [w for w, item in zip(waiting, got, strict=True) if item is None]
        counted = await store.read(lambda tx: tx.all("SELECT leased FROM items WHERE job_id = %s", (job_id,)))
        assert sorted(leased.count(i) for i in set(leased)) == [target] * items
        assert [int(r[0]) for r in counted] == [target] * items
    finally:
        store.close()


async def budget_job(store: PostgresStore, budget_micros: int) -> int:
    def create(tx: Tx) -> int:
        client = tx.insert_client("c", b"h", 0.0)
        return tx.insert_job(client, {"budget_micros": budget_micros}, 1, 0.0)

    return await store.write(create)


async def reserved(store: PostgresStore, job_id: int) -> int:
    row = await store.read(lambda tx: tx.job(job_id))
    assert row is not None
    return int(row.reserved_micros)


async def test_two_writers_of_one_replica_never_overspend_a_budget(postgres_database: str) -> None:
    """Writer A reserves 60 of 100 and has not committed when writer B asks for 60:
    B waits for A's commit and is refused."""
    store = PostgresStore(postgres_database, writers=2)
    try:
        job_id = await budget_job(store, 100)
        a_holds, go = threading.Event(), threading.Event()

        def reserve_and_hold(tx: Tx) -> bool:
            ok = tx.reserve_job_cost(job_id, "a", 60, 100, 0.0)
            a_holds.set()
            assert go.wait(WAIT)
            return ok

        a = await started(store, reserve_and_hold, a_holds)
        b = asyncio.ensure_future(store.write(lambda tx: tx.reserve_job_cost(job_id, "b", 60, 100, 0.0)))
        await asyncio.sleep(
            0.2
        )  # B waits on the job's row; the outcome is the same if it has not got there yet
        go.set()
        assert (await a, await b) == (True, False)
        assert await reserved(store, job_id) == 60
    finally:
        go.set()
        store.close()


@pytest.mark.parametrize("writers", [2, 4])
async def test_reservations_racing_over_writers_spend_exactly_the_budget(
    postgres_database: str, writers: int
) -> None:
    store = PostgresStore(postgres_database, writers=writers)
    try:
        job_id = await budget_job(store, 100)

        def reserve(key: str) -> Callable[[Tx], bool]:
            def run(tx: Tx) -> bool:
                ok = tx.reserve_job_cost(job_id, key, 10, 100, 0.0)
                time.sleep(0.002)
                return ok

            return run

        got = await asyncio.gather(*(store.write(reserve(f"k{n}")) for n in range(25)))
        assert sum(got) == 10
        assert await reserved(store, job_id) == 100
    finally:
        store.close()


async def test_a_feed_reader_misses_no_event_of_the_other_writers_open_transaction(
    postgres_database: str,
) -> None:
    """The outbox trap within one replica: writer A labels and has not committed when
    writer B labels and commits. A reader that saw B's event and resumes after it
    still gets A's."""
    store = PostgresStore(postgres_database, writers=2)
    hold = threading.Event()
    try:
        job_id, _ = await items_to_lease(store, 2, 1, workers=0)
        items = await feed_items(store, job_id)
        running = threading.Event()

        def label_and_hold(tx: Tx) -> int:
            running.set()
            return label_on(job_id, items[0], hold)(tx)

        first = await started(store, label_and_hold, running)
        second = await store.write(label_on(job_id, items[1]))
        seen = await feed(store, job_id)
        hold.set()
        sequences = {await first, second}
        rows = await store.read(lambda tx: tx.label_events(job_id, max(seen, default=0), 1000))
        seen += [int(r.sequence) for r in rows]
        assert sequences == {1, 2}
        assert seen == [1, 2]
    finally:
        hold.set()
        store.close()


async def test_a_feed_read_in_pages_sees_every_event_once_while_four_writers_label(
    postgres_database: str,
) -> None:
    store = PostgresStore(postgres_database, writers=4)
    try:
        job_id, _ = await items_to_lease(store, 4, 1, workers=0)
        items = await feed_items(store, job_id)
        done = asyncio.ensure_future(
            asyncio.gather(*(store.write(label_on(job_id, items[n % 4])) for n in range(120)))
        )
        seen: list[int] = []
        while True:
            finished = done.done()
            after = seen[-1] if seen else 0
            rows = await store.read(lambda tx, after=after: tx.label_events(job_id, after, 7))
            seen += [int(r.sequence) for r in rows]
            if finished and not rows:
                break
        await done
        assert seen == list(range(1, 121))
    finally:
        store.close()


def test_a_replica_needs_one_writer_at_least(postgres_database: str) -> None:
    with pytest.raises(ValueError, match="at least one"):
        PostgresStore(postgres_database, writers=0)


async def test_an_upload_dropped_while_another_writer_stages_it_leaves_nothing_behind(
    postgres_database: str,
) -> None:
    """A stream's stage is still running on writer A when its drop starts on writer B
    (grpc cancelled the stream's handler, the stage went on): the drop waits for it
    and drops what it staged."""
    store = PostgresStore(postgres_database, writers=2)
    go = threading.Event()
    try:
        job_id = await job(store)
        upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
        holding = threading.Event()

        def stage_and_hold(tx: Tx) -> int:
            repeated = tx.stage_items(upload, [item_row("a"), item_row("b")], 0)
            holding.set()
            assert go.wait(WAIT)
            return repeated

        staging = await started(store, stage_and_hold, holding)

        async def drop() -> None:
            while await store.write(lambda tx: tx.drop_upload(upload, 1000)):
                pass

        dropping = asyncio.ensure_future(drop())
        await asyncio.sleep(0.2)  # the drop waits for the stage; the outcome is the same if it has not begun
        go.set()
        await staging
        await dropping
        left = await store.read(
            lambda tx: tx.one(
                "SELECT (SELECT count(*) FROM upload_items WHERE upload_id = %s),"
                " (SELECT count(*) FROM uploads WHERE id = %s)",
                (upload, upload),
            )
        )
        assert left is not None and (int(left[0]), int(left[1])) == (0, 0)
        assert await store.write(lambda tx: tx.stage_items(upload, [item_row("c")], 2)) == 0
        assert await store.write(lambda tx: tx.publish_items(upload, job_id, 1, 0.0, 0, 3)) == (0, 0)
    finally:
        go.set()
        store.close()
