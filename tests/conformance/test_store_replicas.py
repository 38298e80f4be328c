"""The store contract across replicas: server processes sharing one PostgreSQL database
lease, count, label and feed as one, and outlive the database dropping them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification
from labelwire.server.store import PostgresStore, Store, Tx
from labelwire.server.store.postgres import pooling
from labelwire.server.transport.app import start_server
from tests.conformance.store_rows import add_items, job
from tests.helpers import drain, running_job, truth


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
        assert row is not None and int(row.judgments) == 1
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
                if int(item.done) + 1 >= int(item.target):
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
    return [int(r.sequence) for r in rows]


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
        seen += [int(r.sequence) for r in rows]
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
            seen += [int(r.sequence) for r in rows]
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
