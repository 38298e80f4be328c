"""The store contract for gold and uploads, on every store: how gold splits between the
quiz and hidden gold, which gold a worker may still see, and how staged and resumed
uploads count each key once.
"""

from __future__ import annotations

from collections.abc import Callable

from labelwire.server.store import Store, Tx
from tests.conformance.store_rows import add_items, ids_by_key, item_row, job, publishing_upload


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
        return {r.key: int(r.gold_use) for r in tx.gold_rows(job_id, 100)}

    assert before == {0: 4, 1: 1, 2: 1}
    assert await store.read(uses) == {"g0": 1, "g1": 2, "g2": 1, "g3": 2, "g4": 1, "g5": 2}
    assert await store.read(lambda tx: tx.gold_pools(job_id)) == {1: 3, 2: 3}
    assert [r.key for r in await store.read(lambda tx: tx.gold_rows(job_id, 2))] == ["g0", "g1"]
    work = await store.read(lambda tx: tx.item_by_key(job_id, "w0"))
    assert work is not None and (int(work.is_gold), int(work.gold_use)) == (0, 0)


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
    assert item is not None and (int(item.exposures), int(item.leased)) == (2, 2)
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
    shown = await store.read(lambda tx: [r.key for r in tx.open_items(job_id)])
    gold = await store.read(lambda tx: [r.key for r in tx.gold_rows(job_id, 100)])
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
    assert k5 is not None and (int(k5.done), int(k5.target)) == (1, 2)
    assert k7 is not None and int(k7.is_gold) == 0
    assert k12 is not None and (int(k12.is_gold), int(k12.target)) == (1, 3)
