"""What every store must do, run against each store implementation."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.store import PostgresStore, PostgresTx, SqliteTx, Store, Tx, open_store
from labelwire.server.store.postgres import pooling
from labelwire.server.transport.app import start_server
from tests.helpers import drain, running_job, truth

STORES = ["sqlite", "postgres"]


@pytest.fixture(params=STORES)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database for one test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return str(tmp_path / "store.db")


@pytest.fixture
async def store(location: str) -> AsyncIterator[Store]:
    opened = open_store(location)
    try:
        yield opened
    finally:
        opened.close()


async def job(store: Store) -> int:
    def create(tx: Tx) -> int:
        client = tx.insert_client("c", b"h", 0.0)
        return tx.insert_job(client, {"x": 1}, 1, 0.0)

    return await store.write(create)


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
    assert row is not None and int(row["judgments"]) == 3


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
        return [r["key"] for r in tx.open_items(job_id)]

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


async def add_items(store: Store, job_id: int, rows: list[tuple[Any, ...]], target: int) -> None:
    """Stages and publishes items in one go, as a small upload does."""
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    await store.write(lambda tx: tx.stage_items(upload, rows, 0))

    def publish(tx: Tx) -> None:
        tx.publish_items(upload, job_id, target, 0.0, 0, len(rows))
        tx.end_upload(upload)

    await store.write(publish)


async def test_claimed_items_go_to_one_claimant_only(store: Store) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [(f"k{i}", "text", "p", None, None, None, None) for i in range(10)], 2)
    claims = await asyncio.gather(*(store.write(lambda tx: tx.claim_items(job_id, "x", 4)) for _ in range(4)))
    keys = [r["key"] for claim in claims for r in claim]
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


async def items_to_lease(store: Store, items: int, target: int, workers: int) -> tuple[int, list[int]]:
    """A job with `items` items needing `target` judgments each, and `workers` workers."""
    job_id = await job(store)
    await add_items(
        store, job_id, [(f"k{i}", "text", "p", None, None, None, None) for i in range(items)], target
    )

    def hire(tx: Tx) -> list[int]:
        return [tx.insert_worker(job_id, f"w{n}", None, 2, 0, 0.0) for n in range(workers)]

    return job_id, await store.write(hire)


async def test_two_replicas_never_lease_one_judgment_slot_twice(postgres_database: str) -> None:
    replicas = [PostgresStore(postgres_database), PostgresStore(postgres_database)]
    try:
        items, target = 20, 3
        job_id, workers = await items_to_lease(replicas[0], items, target, workers=4 * items * target)

        def lease(worker_id: int) -> Callable[[Tx], int | None]:
            def run(tx: Tx) -> int | None:
                item_id = tx.next_work_item(job_id, worker_id)
                if item_id is not None:
                    tx.insert_task(job_id, item_id, worker_id, 2, 1, 0.0, 60.0)
                    tx.count_item(item_id, leased=1)
                return item_id

            return run

        waiting = list(workers)
        leased: list[int] = []
        while waiting:
            got = await asyncio.gather(*(replicas[n % 2].write(lease(w)) for n, w in enumerate(waiting)))
            if not any(got):
                break
            leased += [item for item in got if item is not None]
            waiting = [w for w, item in zip(waiting, got, strict=True) if item is None]

        counted = await replicas[1].read(
            lambda tx: tx.all("SELECT leased FROM items WHERE job_id = %s", (job_id,))
        )
        assert len(leased) == items * target
        assert sorted(leased.count(i) for i in set(leased)) == [target] * items
        assert [int(r[0]) for r in counted] == [target] * items
    finally:
        for replica in replicas:
            replica.close()


def test_replicas_starting_together_apply_each_migration_once(postgres_database: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStore(postgres_database), range(4)))
    try:
        assert len({s.version for s in stores}) == 1 and stores[0].version >= 1
    finally:
        for s in stores:
            s.close()


async def test_a_replica_outlives_the_database_dropping_its_connections(postgres_database: str) -> None:
    import psycopg

    store = PostgresStore(postgres_database)
    try:
        job_id = await job(store)
        with psycopg.connect(pooling(postgres_database)[0], autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        await store.write(lambda tx: tx.count_job(job_id, judgments=1))
        row = await store.read(lambda tx: tx.job(job_id))
        assert row is not None and int(row["judgments"]) == 1
    finally:
        store.close()


async def test_two_replicas_judging_one_item_at_once_see_each_others_counts(postgres_database: str) -> None:
    replicas = [PostgresStore(postgres_database), PostgresStore(postgres_database)]
    try:
        items, target = 40, 2
        job_id, _ = await items_to_lease(replicas[0], items, target, workers=0)
        rows = await replicas[0].read(lambda tx: tx.all("SELECT id FROM items WHERE job_id = %s", (job_id,)))

        def judge(item_id: int) -> Callable[[Tx], None]:
            """What a submission does: read the item, count the judgment, finish the item on its last one."""

            def run(tx: Tx) -> None:
                item = tx.item(item_id)
                assert item is not None
                tx.count_item(item_id, done=1)
                tx.count_job(job_id, judgments=1)
                if int(item["done"]) + 1 >= int(item["target"]):
                    tx.update_item(item_id, state=1)

            return run

        await asyncio.gather(*(replicas[n].write(judge(int(r[0]))) for r in rows for n in range(target)))
        states = await replicas[1].read(
            lambda tx: tx.all("SELECT state, done FROM items WHERE job_id = %s", (job_id,))
        )
        assert [(int(r[0]), int(r[1])) for r in states] == [(1, target)] * items
    finally:
        for replica in replicas:
            replica.close()


async def test_a_write_waiting_on_another_replicas_row_lock_holds_up_none_of_its_group(
    postgres_database: str,
) -> None:
    """The writes grouped behind a lock wait commit without it; the waiting one runs
    once the lock is gone. Grouped writes of two replicas that waited on each other's
    item rows for as long as it took made lock cycles (deadlocks)."""
    import psycopg

    store = PostgresStore(postgres_database)
    other = psycopg.connect(pooling(postgres_database)[0], autocommit=True)
    try:
        job_id, _ = await items_to_lease(store, 2, 1, workers=0)
        rows = await store.read(
            lambda tx: tx.all("SELECT id FROM items WHERE job_id = %s ORDER BY id", (job_id,))
        )
        locked, free = int(rows[0][0]), int(rows[1][0])
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM items WHERE id = %s FOR UPDATE", (locked,))  # another replica's judgment
        gate = threading.Event()
        blocker = asyncio.ensure_future(store.write(lambda tx: gate.wait(30)))
        await asyncio.sleep(0.1)  # the writer runs the blocker alone; the next two queue behind it

        def judge(item_id: int) -> Callable[[Tx], int]:
            def run(tx: Tx) -> int:
                assert tx.item(item_id) is not None
                tx.count_item(item_id, done=1)
                return item_id

            return run

        first = asyncio.ensure_future(store.write(judge(free)))
        waiting = asyncio.ensure_future(store.write(judge(locked)))
        await asyncio.sleep(0.1)
        gate.set()
        assert await asyncio.wait_for(first, 30) == free
        assert not waiting.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(waiting, 30) == locked
        await blocker
        done = await store.read(lambda tx: tx.all("SELECT id, done FROM items WHERE job_id = %s", (job_id,)))
        assert sorted((int(r[0]), int(r[1])) for r in done) == sorted([(locked, 1), (free, 1)])
    finally:
        other.close()
        store.close()


def label_on(job_id: int, item_id: int, hold: threading.Event | None = None) -> Callable[[Tx], int]:
    """What emitting a label does to the feed: allocate the job's next
    sequence and append the event; with `hold`, stays uncommitted until it is set."""

    def run(tx: Tx) -> int:
        sequence = tx.next_sequence(job_id)
        tx.insert_label(job_id, sequence, item_id, 1, {"c": "a"}, 1.0, {}, "m", 1, True, False, 0.0)
        tx.update_item(item_id, label_sequence=sequence)
        if hold is not None:
            hold.wait(30)
        return sequence

    return run


async def feed(store: Store, job_id: int) -> list[int]:
    rows = await store.read(lambda tx: tx.label_events(job_id, 0, 1000))
    return [int(r["sequence"]) for r in rows]


async def test_a_reader_resuming_after_what_it_saw_misses_no_event_of_an_open_transaction(
    postgres_database: str,
) -> None:
    """The outbox trap: replica A labels and has not committed when replica B
    labels and commits. A reader that saw B's event and resumes after its
    sequence must still get A's: no sequence below one that is visible may
    commit later."""
    replicas = [PostgresStore(postgres_database), PostgresStore(postgres_database)]
    hold = threading.Event()
    try:
        job_id, _ = await items_to_lease(replicas[0], 2, 1, workers=0)
        items = await feed_items(replicas[0], job_id)
        first = asyncio.ensure_future(replicas[0].write(label_on(job_id, items[0], hold)))
        await asyncio.sleep(0.3)  # A has labeled and waits, uncommitted
        second = asyncio.ensure_future(replicas[1].write(label_on(job_id, items[1])))
        await asyncio.sleep(0.5)
        seen = await feed(replicas[1], job_id)
        hold.set()
        sequences = {await first, await second}
        after = max(seen, default=0)
        rows = await replicas[1].read(lambda tx: tx.label_events(job_id, after, 1000))
        seen += [int(r["sequence"]) for r in rows]
        assert sequences == {1, 2}
        assert seen == [1, 2]
        events = await replicas[0].read(
            lambda tx: tx.all("SELECT sequence, item_id FROM label_events WHERE job_id = %s", (job_id,))
        )
        labeled = await replicas[0].read(
            lambda tx: tx.all("SELECT label_sequence, id FROM items WHERE job_id = %s", (job_id,))
        )
        assert sorted((int(r[0]), int(r[1])) for r in events) == sorted(
            (int(r[0]), int(r[1])) for r in labeled
        )
    finally:
        hold.set()
        for replica in replicas:
            replica.close()


async def feed_items(store: Store, job_id: int) -> list[int]:
    rows = await store.read(
        lambda tx: tx.all("SELECT id FROM items WHERE job_id = %s ORDER BY id", (job_id,))
    )
    return [int(r[0]) for r in rows]


async def test_a_reader_resuming_after_each_sequence_sees_every_event_once_while_replicas_race(
    postgres_database: str,
) -> None:
    """A client reading the feed in small pages, each resuming after the last
    sequence it saw, while two replicas label two jobs at once."""
    replicas = [PostgresStore(postgres_database), PostgresStore(postgres_database)]
    try:
        job_id, _ = await items_to_lease(replicas[0], 4, 1, workers=0)
        items = await feed_items(replicas[0], job_id)
        other_job, _ = await items_to_lease(replicas[1], 1, 1, workers=0)
        other_item = (await feed_items(replicas[0], other_job))[0]
        writes = [replicas[n % 2].write(label_on(job_id, items[n % 4])) for n in range(120)]
        writes += [replicas[n % 2].write(label_on(other_job, other_item)) for n in range(20)]
        done = asyncio.ensure_future(asyncio.gather(*writes))
        seen: list[int] = []
        while True:
            finished = done.done()
            after = seen[-1] if seen else 0
            rows = await replicas[len(seen) % 2].read(
                lambda tx, after=after: tx.label_events(job_id, after, 7)
            )
            seen += [int(r["sequence"]) for r in rows]
            if finished and not rows:
                break
        await done
        assert seen == list(range(1, 121))
    finally:
        for replica in replicas:
            replica.close()


async def test_server_replicas_on_one_database_label_a_job_together(postgres_database: str) -> None:
    replicas = [
        await start_server(address="127.0.0.1:0", database=postgres_database, admin_key="admin", seed=n)
        for n in range(3)
    ]
    targets = [f"127.0.0.1:{r.port}" for r in replicas]
    try:
        async with AdminClient(targets[0], "admin") as admin:
            key = await admin.create_api_key("ml")
        lw = Client(targets[1], key)
        job = await running_job(lw, items=120, judgments=3)
        tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(12)]

        async def work_through_the_balancer(n: int, token: str) -> int:
            """Sends each request to the next replica, as a round-robin balancer would."""
            workers = [WorkerClient(t, token) for t in targets]
            submitted = 0
            try:
                while (task := await workers[n % 3].next_task()).HasField("task"):
                    await workers[(n + 1) % 3].submit(task.task.name, classification(truth(task.task.text)))
                    submitted, n = submitted + 1, n + 2
            finally:
                for w in workers:
                    await w.close()
            return submitted

        submitted = await asyncio.gather(*(work_through_the_balancer(n, t) for n, t in enumerate(tokens)))
        reader = Client(targets[2], key)
        labels = await drain(reader.stream_labels(job.name, snapshot_only=True))
        assert sum(submitted) == 120 * 3
        assert sorted(lab.sequence for lab in labels) == list(range(1, 121))
        assert len({lab.item_key for lab in labels}) == 120
        await lw.close()
        await reader.close()
    finally:
        for r in replicas:
            await r.stop(grace=None)


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
    assert [r["key"] for r in claimed] == ["k0", "k1"]
    assert [(r["reserved_micros"], r["claim_fee_micros"], r["claimed_by"]) for r in rows[:3]] == [
        (220, 10, "x"),
        (220, 10, "x"),
        (0, 0, None),
    ]
    await store.write(lambda tx: tx.free_item_reservations(job_id, ["k0"]))
    after = await store.read(lambda tx: tx.item_by_key(job_id, "k0"))
    assert after is not None and after["reserved_micros"] == 0


async def test_a_credential_is_found_by_its_id_or_as_its_owners_legacy_key(store: Store) -> None:
    def make(tx: Tx) -> tuple[int, int]:
        fresh = tx.insert_credential(1, 7, b"new", 0.0, None)
        tx.run(
            "INSERT INTO credentials (kind, owner_id, secret_hash, legacy, created_at) VALUES (1, ?, ?, 1, 0)",
            (fresh, b"old"),
        )
        return fresh, tx.insert_credential(2, fresh, b"worker", 0.0, 9.0)

    fresh, worker = await store.write(make)
    found = await store.read(
        lambda tx: sorted(bytes(r["secret_hash"]) for r in tx.credentials_named(1, fresh))
    )
    await store.write(lambda tx: tx.revoke_credential(fresh, 5.0))
    await store.write(lambda tx: tx.expire_credential(worker, 20.0))
    rows = await store.read(lambda tx: (tx.credential(fresh), tx.credential(worker)))
    assert found == [b"new", b"old"]
    assert rows[0]["revoked_at"] == 5.0 and rows[1]["expires_at"] == 9.0  # expiry only ever moves earlier


# Gold pools, uploads in several chunks, and the job statistics: what the
# dispatcher, AddItems and GetJob/metrics/the quality service read from a store.

GOLD = '{"classification": {"class_name": "cat"}}'


def item_row(key: str, gold: bool = False) -> tuple[Any, ...]:
    """An upload row (key, kind, payload, metadata, prelabel, prelabel_confidence, gold)."""
    return (key, "text", f"text of {key}", None, None, None, GOLD if gold else None)


async def ids_by_key(store: Store, job_id: int) -> dict[str, int]:
    rows = await store.read(lambda tx: tx.all("SELECT key, id FROM items WHERE job_id = ?", (job_id,)))
    return {str(r[0]): int(r[1]) for r in rows}


async def publishing_upload(store: Store, job_id: int, rows: list[tuple[Any, ...]]) -> int:
    """An upload that has published `rows` into the job and still holds them hidden."""
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    await store.write(lambda tx: tx.stage_items(upload, rows, 0))

    def publish(tx: Tx) -> None:
        assert tx.claim_publish(upload, job_id, 0.0)
        tx.publish_items(upload, job_id, 1, 0.0, 0, len(rows))

    await store.write(publish)
    return upload


async def test_the_gold_split_puts_the_first_unmarked_gold_in_the_quiz_and_keeps_owners_marks(
    store: Store,
) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [item_row("w0"), *(item_row(f"g{i}", True) for i in range(6))], 3)
    # the owner's marks; a second mark of g1 and a mark of a work item change nothing
    await store.write(lambda tx: tx.mark_gold_use(job_id, [("g1", 2), ("g4", 1), ("w0", 1)]))
    await store.write(lambda tx: tx.mark_gold_use(job_id, [("g1", 1)]))
    before = await store.read(lambda tx: tx.gold_pools(job_id))
    await store.write(lambda tx: tx.split_gold(job_id, 2))

    def uses(tx: Tx) -> dict[str, int]:
        return {r["key"]: int(r["gold_use"]) for r in tx.gold_rows(job_id, 100)}

    assert before == {0: 4, 1: 1, 2: 1}
    assert await store.read(uses) == {"g0": 1, "g1": 2, "g2": 1, "g3": 2, "g4": 1, "g5": 2}
    assert await store.read(lambda tx: tx.gold_pools(job_id)) == {1: 3, 2: 3}
    assert [r["key"] for r in await store.read(lambda tx: tx.gold_rows(job_id, 2))] == ["g0", "g1"]
    work = await store.read(lambda tx: tx.item_by_key(job_id, "w0"))
    assert work is not None and (int(work["is_gold"]), int(work["gold_use"])) == (0, 0)


async def test_gold_added_to_a_started_job_counts_only_once_shown_and_goes_to_hidden_gold(
    store: Store,
) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [item_row("g0", True), item_row("g1", True)], 1)
    await store.write(lambda tx: tx.split_gold(job_id, 1))
    upload = await publishing_upload(store, job_id, [item_row("new0", True), item_row("new1", True)])
    while_hidden = await store.read(lambda tx: tx.gold_pools(job_id))
    worker = await store.write(lambda tx: tx.insert_worker(job_id, "w", None, 1, 1, 0.0))
    unseen_while_hidden = await store.read(lambda tx: tx.unseen_gold(job_id, worker, (0, 1, 2), 0))

    def show(tx: Tx) -> None:
        tx.end_upload(upload)
        tx.mark_gold_use(job_id, [("new1", 1)])
        tx.hide_new_gold(job_id)

    await store.write(show)
    ids = await ids_by_key(store, job_id)
    assert while_hidden == {1: 1, 2: 1}
    assert unseen_while_hidden == [ids["g0"], ids["g1"]]
    assert await store.read(lambda tx: tx.gold_pools(job_id)) == {1: 2, 2: 2}
    assert await store.read(lambda tx: tx.unseen_gold(job_id, worker, (1,), 0)) == [ids["g0"], ids["new1"]]


async def test_unseen_gold_leaves_out_what_the_worker_saw_and_gold_retired_after_its_exposures(
    store: Store,
) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [item_row("w0"), *(item_row(f"g{i}", True) for i in range(4))], 1)
    await store.write(lambda tx: tx.mark_gold_use(job_id, [("g1", 1), ("g2", 2), ("g3", 2)]))
    ids = await ids_by_key(store, job_id)
    a, b, c = await store.write(lambda tx: [tx.insert_worker(job_id, n, None, 2, 0, 0.0) for n in "abc"])

    def show(worker: int, key: str) -> Callable[[Tx], None]:
        """What the dispatcher records when it leases gold: a task and one more exposure."""

        def run(tx: Tx) -> None:
            tx.insert_task(job_id, ids[key], worker, 2, 1, 0.0, 60.0)
            tx.count_item(ids[key], leased=1, exposures=1)

        return run

    async def unseen(worker: int, pools: tuple[int, ...], max_exposures: int) -> list[str]:
        got = await store.read(lambda tx: tx.unseen_gold(job_id, worker, pools, max_exposures))
        return [k for i in got for k, v in ids.items() if v == i]

    assert await unseen(a, (0, 1), 0) == ["g0", "g1"]
    assert await unseen(a, (0, 2), 2) == ["g0", "g2", "g3"]
    assert await unseen(a, (2,), 2) == ["g2", "g3"]
    await store.write(show(a, "g2"))
    assert await unseen(a, (0, 2), 2) == ["g0", "g3"]  # a saw g2
    assert await unseen(b, (0, 2), 2) == ["g0", "g2", "g3"]  # shown once of twice
    assert await unseen(b, (0, 2), 1) == ["g0", "g3"]  # retired at one exposure
    await store.write(show(b, "g2"))
    assert await unseen(c, (0, 2), 2) == ["g0", "g3"]  # shown to two workers: retired
    assert await unseen(c, (0, 2), 3) == ["g0", "g2", "g3"]
    assert await unseen(c, (0, 2), 0) == ["g0", "g2", "g3"]  # 0: never retired
    item = await store.read(lambda tx: tx.item(ids["g2"]))
    assert item is not None and (int(item["exposures"]), int(item["leased"])) == (2, 2)
    assert await store.write(lambda tx: tx.next_work_item(job_id, c)) == ids["w0"]  # gold is never work


async def test_an_upload_staged_in_several_chunks_keeps_stream_order_and_counts_each_repeat(
    store: Store,
) -> None:
    job_id = await job(store)
    rows = [item_row(f"k{i:04d}", gold=i % 100 == 50) for i in range(1207)]
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
    first = await store.write(lambda tx: tx.stage_items(upload, rows[:7], 0))
    rest = await store.write(lambda tx: tx.stage_items(upload, rows[7:], 7))  # several statements' worth
    resent = await store.write(lambda tx: tx.stage_items(upload, rows[:7], 0))  # a retried write
    again = await store.write(lambda tx: tx.stage_items(upload, [*rows[:3], item_row("extra")], 1207))

    def publish(tx: Tx) -> list[tuple[int, int]]:
        assert tx.claim_publish(upload, job_id, 0.0)
        return [tx.publish_items(upload, job_id, 2, 0.0, n, n + 500) for n in range(0, 1211, 500)]

    published = await store.write(publish)
    hidden = await store.read(lambda tx: tx.open_items(job_id))
    await store.write(lambda tx: tx.end_upload(upload))
    shown = await store.read(lambda tx: [r["key"] for r in tx.open_items(job_id)])
    gold = await store.read(lambda tx: [r["key"] for r in tx.gold_rows(job_id, 100)])
    left = await store.write(
        lambda tx: tx.one("SELECT COUNT(*) FROM upload_items WHERE upload_id = ?", (upload,))
    )
    assert (first, rest, resent, again) == (0, 0, 7, 3)
    assert published == [(500, 5), (500, 5), (208, 2)]  # k0000..k0499, ..k0999, ..k1206 and "extra"
    assert hidden == []
    assert shown == [r[0] for r in rows if r[6] is None] + ["extra"]
    assert gold == [r[0] for r in rows if r[6] is not None]
    assert left is not None and int(left[0]) == 0


async def test_a_resumed_upload_adds_only_the_keys_the_job_lacks_and_a_resend_adds_nothing(
    store: Store,
) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [item_row(f"k{i}") for i in range(10)], 2)
    ids = await ids_by_key(store, job_id)
    await store.write(lambda tx: tx.count_item(ids["k5"], done=1))

    async def upload(keys: range, gold: tuple[int, ...] = ()) -> tuple[int, int]:
        rows = [item_row(f"k{i}", gold=i in gold) for i in keys]
        upload = await store.write(lambda tx: tx.begin_upload(job_id, 0.0))
        await store.write(lambda tx: tx.stage_items(upload, rows[:4], 0))
        await store.write(lambda tx: tx.stage_items(upload, rows[4:], 4))

        def publish(tx: Tx) -> tuple[int, int]:
            added = tx.publish_items(upload, job_id, 3, 0.0, 0, len(rows))
            tx.end_upload(upload)
            return added

        return await store.write(publish)

    resumed = await upload(range(5, 15), gold=(7, 12))  # k7 is in the job already: stays work
    resent = await upload(range(15))
    after = await ids_by_key(store, job_id)
    k5, k7, k12 = await store.read(lambda tx: [tx.item(after[k]) for k in ("k5", "k7", "k12")])
    assert resumed == (5, 1) and resent == (0, 0)
    assert sorted(after) == sorted(f"k{i}" for i in range(15))
    assert {k: after[k] for k in ids} == ids  # the items the job had keep their rows
    assert k5 is not None and (int(k5["done"]), int(k5["target"])) == (1, 2)
    assert k7 is not None and int(k7["is_gold"]) == 0
    assert k12 is not None and (int(k12["is_gold"]), int(k12["target"])) == (1, 3)


async def test_live_counts_split_open_work_by_lease_and_workers_by_standing(store: Store) -> None:
    job_id, other = await job(store), await job(store)
    await add_items(store, job_id, [*(item_row(f"o{i}") for i in range(7)), item_row("g", True)], 2)
    await add_items(store, other, [item_row("x0"), item_row("x1")], 2)
    await publishing_upload(store, job_id, [item_row("hidden0"), item_row("hidden1")])
    ids = await ids_by_key(store, job_id)
    others = await ids_by_key(store, other)

    def shape(tx: Tx) -> None:
        tx.count_item(ids["o1"], leased=1)
        tx.count_item(ids["o2"], leased=2)
        tx.update_item(ids["o3"], state=1)  # labeled
        tx.update_item(ids["o4"], state=2, leased=1)  # failed with a lease still counted
        tx.count_item(ids["g"], leased=1)
        tx.count_item(others["x0"], leased=1)
        for n, status in enumerate([1, 2, 3, 4, 4, 3, 3]):  # quiz, qualified, failed quiz, disqualified
            tx.insert_worker(job_id, f"w{n}", None, status, 0, 0.0)
        tx.insert_worker(other, "elsewhere", None, 2, 0, 0.0)

    await store.write(shape)
    # unlabeled o0 o5 o6; in progress o1 o2; qualified w1; disqualified w2..w6
    assert await store.read(lambda tx: tx.live_counts(job_id)) == (3, 2, 1, 5)
    assert await store.read(lambda tx: tx.live_counts(other)) == (1, 1, 1, 0)


async def test_job_totals_by_state_and_live_leases_by_job_are_the_counters_metrics_read(store: Store) -> None:
    def make(tx: Tx) -> tuple[int, int, int]:
        client = tx.insert_client("c", b"h", 0.0)
        jobs = (
            tx.insert_job(client, {}, 2, 0.0),
            tx.insert_job(client, {}, 2, 0.0),
            tx.insert_job(client, {}, 4, 0.0),
        )
        for job_id, judgments, labeled in zip(jobs, (5, 3, 7), (2, 1, 6), strict=True):
            tx.count_job(job_id, judgments=judgments, labeled_items=labeled)
            tx.count_job(job_id, judgments=1)
        return jobs

    a, b, c = await store.write(make)
    await add_items(store, a, [item_row(f"a{i}") for i in range(3)], 1)
    await add_items(store, c, [item_row("c0")], 1)
    ids = {**await ids_by_key(store, a), **await ids_by_key(store, c)}

    def lease(tx: Tx) -> None:
        wa, wc = tx.insert_worker(a, "wa", None, 2, 0, 0.0), tx.insert_worker(c, "wc", None, 2, 0, 0.0)
        tx.insert_task(a, ids["a0"], wa, 2, 1, 0.0, 60.0)
        tx.insert_task(a, ids["a1"], wa, 2, 1, 0.0, 60.0)
        done = tx.insert_task(a, ids["a2"], wa, 2, 1, 0.0, 60.0)
        tx.finish_task(done, 2, 1.0)
        tx.insert_task(c, ids["c0"], wc, 2, 1, 0.0, 60.0)

    await store.write(lease)
    row = await store.read(lambda tx: tx.job(b))
    assert await store.read(lambda tx: tx.job_state_totals()) == {2: (2, 10, 3), 4: (1, 8, 6)}
    assert await store.read(lambda tx: tx.open_leases_by_job()) == {a: 2, c: 1}
    assert row is not None and (int(row["judgments"]), int(row["labeled_items"])) == (4, 1)


async def test_the_quality_service_reads_each_counted_work_judgment_and_each_workers_record(
    store: Store,
) -> None:
    job_id = await job(store)
    await add_items(store, job_id, [item_row("i0"), item_row("i1"), item_row("g", True)], 3)
    ids = await ids_by_key(store, job_id)
    workers = await store.write(
        lambda tx: [tx.insert_worker(job_id, f"w{n}", None, 2, 0, 0.0) for n in range(3)]
    )

    def judge(tx: Tx) -> None:
        for worker, key, right in [
            (0, "i1", None),
            (0, "i0", None),
            (0, "g", True),
            (1, "i0", None),
            (2, "i1", None),
            (2, "g", False),
        ]:
            task = tx.insert_task(job_id, ids[key], workers[worker], 2, 1, 0.0, 60.0)
            tx.finish_task(task, 2, 1.0)
            tx.insert_judgment(
                task, job_id, ids[key], workers[worker], {"n": worker}, 10 * worker, right, 1.0
            )
        declined = tx.insert_task(job_id, ids["i1"], workers[1], 2, 1, 0.0, 60.0)
        tx.finish_task(declined, 5, 2.0, "too blurry")

    await store.write(judge)
    fed = await store.write(lambda tx: tx.exclude_judgments_of(workers[2]))
    judgments = await store.read(
        lambda tx: [(int(r[0]), int(r[1]), int(r[3])) for r in tx.job_judgments(job_id)]
    )
    counted = await store.read(lambda tx: sorted((int(r[0]), int(r[1])) for r in tx.pass_input(job_id)))
    page = await store.read(lambda tx: [int(r["id"]) for r in tx.workers_of(job_id, 0, 2)])
    rest = await store.read(lambda tx: [int(r["id"]) for r in tx.workers_of(job_id, workers[1], 10)])
    declines = await store.read(lambda tx: [(int(r[0]), r[1]) for r in tx.job_declines(job_id)])
    i0, i1, g = ids["i0"], ids["i1"], ids["g"]
    assert fed == [i1]  # the gold answer fed no label
    assert [j[0] for j in judgments] == [i0, i0, i1]  # by item, w2 left out, gold left out
    assert sorted(judgments) == sorted([(i0, workers[0], 0), (i0, workers[1], 10), (i1, workers[0], 0)])
    assert counted == sorted([(i1, workers[0]), (i0, workers[0]), (g, workers[0]), (i0, workers[1])])
    assert page == workers[:2] and rest == workers[2:]
    assert declines == [(workers[1], "too blurry")]


async def test_skills_are_read_back_for_every_worker_asked_however_many(store: Store) -> None:
    job_id = await job(store)
    workers = await store.write(
        lambda tx: [tx.insert_worker(job_id, f"w{n}", None, 2, 0, 0.0) for n in range(1203)]
    )
    await store.write(lambda tx: tx.set_skills({w: n / 2000 for n, w in enumerate(workers) if n % 2}))
    await store.write(lambda tx: tx.update_worker(workers[-1], gold_answered=4, gold_correct=3))
    skills = await store.read(lambda tx: tx.skills_of(workers[1:]))
    assert len(skills) == 1202
    assert skills[workers[1]] == (1 / 2000, 0, 0) and skills[workers[2]] == (None, 0, 0)
    assert skills[workers[1202]] == (None, 4, 3) and skills[workers[1201]] == (1201 / 2000, 0, 0)


async def test_a_budget_reservation_takes_at_most_what_is_left_and_frees_only_what_it_holds(
    store: Store,
) -> None:
    job_id = await job(store)

    def reserve(key: str, micros: int, budget: int) -> Callable[[Tx], bool]:
        return lambda tx: tx.reserve_job_cost(job_id, key, micros, budget, 0.0)

    def release(key: str, micros: int | None = None) -> Callable[[Tx], int]:
        return lambda tx: tx.release_job_cost(job_id, key, micros)

    async def held() -> tuple[int, int]:
        row = await store.read(lambda tx: tx.job(job_id))
        assert row is not None
        return int(row["cost_micros"]), int(row["reserved_micros"])

    assert await store.write(lambda tx: tx.add_job_cost(job_id, "charge", 300, "judgment", 0.0))
    assert not await store.write(lambda tx: tx.add_job_cost(job_id, "charge", 300, "judgment", 0.0))
    assert await store.write(reserve("a", 200, 1000))
    # 1000 - 300 spent - 200 reserved leaves exactly 500
    assert not await store.write(reserve("b", 501, 1000))
    assert await held() == (300, 200)
    assert await store.write(reserve("b", 500, 1000))
    assert await store.write(reserve("b", 500, 1000))  # a retry finds it reserved, holds no more
    assert await store.write(reserve("c", 10**9, 0))  # 0: no budget
    assert await held() == (300, 700 + 10**9)
    assert [await store.write(release("b", 200)), await store.write(release("b"))] == [200, 300]
    assert await store.write(release("b")) == 0  # nothing left to free
    assert await store.write(release("never")) == 0
    assert await store.write(release("a", -5)) == 0
    assert await held() == (300, 200 + 10**9)
    await store.write(lambda tx: tx.clear_reservations(job_id))
    ledger = await store.read(
        lambda tx: sorted(
            (r[0], int(r[1])) for r in tx.all("SELECT key, micros FROM job_costs WHERE job_id = ?", (job_id,))
        )
    )
    assert await held() == (300, 0)
    assert ledger == [("charge", 300), ("reserved:a", 0), ("reserved:b", 0), ("reserved:c", 0)]
    assert await store.write(release("a", 10**6)) == 0


async def test_open_and_claimable_work_leave_out_gold_claimed_finished_and_hidden_items(store: Store) -> None:
    job_id = await job(store)

    async def open_and_claimable() -> tuple[bool, bool]:
        return await store.read(lambda tx: (tx.has_open_items(job_id), tx.has_claimable(job_id)))

    await add_items(store, job_id, [item_row("g", True)], 1)
    only_gold = await open_and_claimable()
    upload = await publishing_upload(store, job_id, [item_row("w")])
    hidden = await open_and_claimable()
    await store.write(lambda tx: tx.end_upload(upload))
    shown = await open_and_claimable()
    await store.write(lambda tx: tx.claim_items(job_id, "push", 10))
    claimed = await open_and_claimable()
    w = await store.read(lambda tx: tx.item_by_key(job_id, "w"))
    assert w is not None
    await store.write(lambda tx: tx.update_item(int(w["id"]), state=1))
    assert (only_gold, hidden, shown, claimed) == (
        (False, False),
        (False, False),
        (True, True),
        (True, False),
    )
    assert await open_and_claimable() == (False, False)


async def test_an_upload_heartbeat_renews_until_the_upload_is_gone(store: Store) -> None:
    job_id = await job(store)
    upload = await store.write(lambda tx: tx.begin_upload(job_id, 1.0))
    assert await store.write(lambda tx: tx.touch_upload(upload, 50.0))
    stale = await store.read(lambda tx: [int(r["id"]) for r in tx.uploads_touched_before(50.5)])
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
        return [int(r["id"]) for r in rows]

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
        seen = [tx.job(job_id)["judgments"], tx.worker(worker)["gold_answered"]]
        tx.count_job(job_id, judgments=2)
        tx.update_worker(worker, gold_answered=5)
        seen += [tx.job(job_id)["judgments"], tx.worker(worker)["gold_answered"]]
        tx.set_job_state(job_id, 3, 1.0)
        tx.set_skills({worker: 0.25})
        seen += [tx.job(job_id)["state"], tx.worker(worker)["skill"]]
        return seen

    assert await store.write(change_and_reread) == [0, 0, 2, 5, 3, 0.25]
    assert await store.write(lambda tx: tx.job(job_id)["judgments"]) == 2
