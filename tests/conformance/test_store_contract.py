"""What every store must do, run against each store implementation."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.store import PostgresStore, PostgresTx, SqliteTx, Store, Tx, open_store
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
        with psycopg.connect(postgres_database, autocommit=True) as admin:
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
