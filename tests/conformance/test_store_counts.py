"""The store contract for what the counters, metrics and quality reports read, on every
store: live counts, totals by state, judgments and skills, budget reservations and open
work.
"""

from __future__ import annotations

from collections.abc import Callable

from labelwire.server.store import Store, Tx
from tests.conformance.store_rows import add_items, ids_by_key, item_row, job, publishing_upload


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
    assert row is not None and (int(row.judgments), int(row.labeled_items)) == (4, 1)


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
    page = await store.read(lambda tx: [int(r.id) for r in tx.workers_of(job_id, 0, 2)])
    rest = await store.read(lambda tx: [int(r.id) for r in tx.workers_of(job_id, workers[1], 10)])
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
        return int(row.cost_micros), int(row.reserved_micros)

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
    await store.write(lambda tx: tx.update_item(int(w.id), state=1))
    assert (only_gold, hidden, shown, claimed) == (
        (False, False),
        (False, False),
        (True, True),
        (True, False),
    )
    assert await open_and_claimable() == (False, False)
