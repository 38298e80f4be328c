"""Open items' stored posteriors and the durable pass model, on every store: contested items
come least confident first, never one the worker judged or one no longer open; a pass model
written through one store instance is what another instance (a replica, or this one after a
restart) labels with."""

from __future__ import annotations

import numpy as np
import pytest

from labelwire.server.labels import pass_models
from labelwire.server.labels.pass_models import JobModel, job_model, save_model
from labelwire.server.store import Store, Tx, open_store
from tests.conformance.store_rows import add_items, job


async def _items(store: Store, job_id: int, count: int) -> list[int]:
    await add_items(store, job_id, [(f"k{i}", "text", "p", None, None, None, None) for i in range(count)], 3)
    return await store.read(lambda tx: tx.work_item_ids(job_id))


async def test_contested_items_come_least_confident_first(store: Store) -> None:
    job_id = await job(store)
    ids = await _items(store, job_id, 5)

    def contest(tx: Tx) -> int:
        for item_id, confidence in zip(ids[:4], (0.8, 0.5, 0.9, 0.6), strict=True):
            tx.set_open_posterior(item_id, confidence, [confidence, 1 - confidence])
        return tx.insert_worker(job_id, "w", None, 2, 0, 0.0)

    worker = await store.write(contest)
    order = await store.write(lambda tx: [int(r.id) for r in tx.unsure_rows(job_id, worker, 10, pilot=False)])
    assert order == [ids[1], ids[3], ids[0], ids[2]]  # the fifth has no posterior: under its floor
    row = await store.write(lambda tx: tx.item(ids[1]))
    assert row.open_confidence == pytest.approx(0.5)
    assert row.open_posterior == "[0.5, 0.5]"


async def test_no_contested_item_the_worker_judged_or_that_is_labeled(store: Store) -> None:
    job_id = await job(store)
    ids = await _items(store, job_id, 3)

    def contest(tx: Tx) -> int:
        for item_id in ids:
            tx.set_open_posterior(item_id, 0.6, None)
        worker = tx.insert_worker(job_id, "w", None, 2, 0, 0.0)
        tx.insert_task(job_id, ids[0], worker, 2, 2, 0.0, 10.0)
        tx.update_item(ids[1], state=1)
        return worker

    worker = await store.write(contest)
    rows = await store.write(lambda tx: tx.unsure_rows(job_id, worker, 10, pilot=False))
    assert [int(r.id) for r in rows] == [ids[2]]
    assert rows[0].open_posterior is None


def _model(scale: float) -> JobModel:
    confusions = {7: np.array([[0.9, 0.1], [0.2, 0.8]]) * scale, 9: np.eye(2)}
    return JobModel(priors=np.array([0.3, 0.7]), confusions=confusions, method="dawid_skene")


async def test_the_pass_model_survives_a_restart_and_reaches_another_instance(
    location: str,
) -> None:
    first = open_store(location)
    try:
        job_id = await job(first)
        await first.write(lambda tx: save_model(tx, job_id, _model(1.0)))
    finally:
        first.close()
    pass_models._models.clear()  # a new process keeps nothing
    second, third = open_store(location), open_store(location)
    try:
        read = await second.read(lambda tx: job_model(tx, job_id))
        assert read is not None and read.method == "dawid_skene"
        np.testing.assert_array_equal(read.priors, [0.3, 0.7])
        assert sorted(read.confusions) == [7, 9]
        np.testing.assert_array_equal(read.confusions[7], [[0.9, 0.1], [0.2, 0.8]])
        await third.write(lambda tx: save_model(tx, job_id, _model(0.5)))  # another replica's pass
        newer = await second.read(lambda tx: job_model(tx, job_id))
        assert newer is not None
        np.testing.assert_array_equal(newer.confusions[7], [[0.45, 0.05], [0.1, 0.4]])
        assert await second.read(lambda tx: job_model(tx, job_id + 1)) is None
    finally:
        second.close()
        third.close()


async def test_routing_reads_the_workers_as_their_rows_have_them(store: Store) -> None:
    job_id = await job(store)

    def hire(tx: Tx) -> None:
        for n in range(4):
            worker = tx.insert_worker(job_id, f"w{n}", None, 2 if n else 1, 0, 0.0)
            tx.update_worker(worker, last_active_at=float(n), skill=0.5 + n / 10, gold_answered=n)

    await store.write(hire)
    rows = await store.read(lambda tx: tx.workers_of(job_id, 0, 3))
    narrow = await store.read(lambda tx: tx.routing_workers(job_id, 3))
    assert [
        (w.id, int(w.status), w.last_active_at, w.skill, w.gold_answered, w.gold_correct) for w in rows
    ] == [tuple(r) for r in narrow]


async def test_the_least_confident_pick_goes_through_its_index(location: str) -> None:
    """Not every open item of the job walked and sorted on each lease of a target job."""
    store = open_store(location)
    try:
        job_id = await job(store)
        await _items(store, job_id, 3)
        postgres = getattr(store, "kind", "") != "sqlite"

        def plan(tx: Tx) -> str:
            plain = tx.all
            explain = "EXPLAIN" if postgres else "EXPLAIN QUERY PLAN"
            if postgres:
                tx.run("SET LOCAL enable_seqscan = off")
            tx.all_as = lambda cls, sql, args=(): plain(f"{explain} {sql}", args)  # type: ignore[method-assign]
            return " ".join(str(r[0 if postgres else 3]) for r in tx.unsure_rows(job_id, 1, 1, pilot=False))

        text = await store.write(plan)
        assert "items_unsure" in text and "TEMP B-TREE" not in text, text
    finally:
        store.close()


async def test_a_model_saved_in_the_writers_transaction_is_read_back_in_it(store: Store) -> None:
    """The writer keeps the model's stamp for its group (PostgreSQL): a save drops it."""
    job_id = await job(store)

    def pass_then_lease(tx: Tx) -> list[float] | None:
        assert job_model(tx, job_id) is None
        save_model(tx, job_id, _model(1.0))
        model = job_model(tx, job_id)
        return None if model is None else model.priors.tolist()

    assert await store.write(pass_then_lease) == [0.3, 0.7]
