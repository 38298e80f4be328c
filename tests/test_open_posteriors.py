"""A job-level pass refreshes the posterior stored on each open item that waits for an extra
judgment, so the dispatcher's least-confident-first order follows the job's model; an item
judged again since the pass's snapshot keeps the fresher posterior its judgment wrote."""

from __future__ import annotations

import json
from pathlib import Path

from labelwire.server.domain.model import ItemState, JobSpec, LabelClass
from labelwire.server.labels import passes
from labelwire.server.store import Tx, open_store
from labelwire.server.store.rows import PassInputRow
from tests.conformance.test_store_contract import add_items, job

NAMES = ("a", "b")


def _spec(target: float = 0.99) -> JobSpec:
    return JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in NAMES),
        task_config={"classes": [{"name": n} for n in NAMES]},
        judgments_per_item=2,
        max_judgments_per_item=4,
        target_confidence=target,
        consolidation_method="dawid_skene",
    )


def _row(item: int, worker: int, answer: str, state: ItemState = ItemState.OPEN) -> PassInputRow:
    return PassInputRow(
        item, worker, json.dumps({"classification": {"class_name": answer}}), 0, None, int(state), None
    )


def _rows() -> list[PassInputRow]:
    rows = []
    for item in range(1, 21):  # settled items the workers agree on
        for worker in (1, 2, 3):
            rows.append(_row(item, worker, NAMES[item % 2], ItemState.LABELED))
    rows += [_row(30, 1, "a"), _row(30, 2, "b")]  # open, past its floor, contested
    rows += [_row(31, 1, "a")]  # open, one judgment
    return rows


def test_a_pass_gives_open_items_past_their_floor_a_posterior() -> None:
    result = passes.compute(_spec(), _rows())
    assert set(result.open_posteriors) == {30, 31}  # with a target the floor is one judgment
    posterior, counted = result.open_posteriors[30]
    assert counted == 2
    assert len(posterior) == 2 and abs(sum(posterior) - 1) < 1e-6
    assert result.open_posteriors[31][1] == 1


def test_without_a_target_an_item_under_judgments_per_item_gets_no_posterior() -> None:
    result = passes.compute(_spec(target=0.0), _rows())
    assert 31 not in result.open_posteriors


async def test_a_pass_rewrites_only_posteriors_it_saw_the_judgments_of(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store.db"))
    try:
        job_id = await job(store)
        await add_items(store, job_id, [(f"k{i}", "text", "p", None, None, None, None) for i in range(3)], 3)
        ids = await store.read(lambda tx: tx.work_item_ids(job_id))

        def judged(tx: Tx) -> None:
            for item_id in ids:
                tx.update_item(item_id, done=2)
            tx.set_open_posterior(ids[0], 0.6, [0.6, 0.4])
            tx.set_open_posterior(ids[1], 0.6, [0.6, 0.4])
            tx.update_item(ids[1], done=3)  # judged again after the pass's snapshot

        await store.write(judged)
        result = passes.PassResult(open_posteriors={i: ([0.2, 0.8], 2) for i in ids})
        await store.write(lambda tx: passes._update_open_posteriors(tx, result))
        rows = await store.read(lambda tx: [tx.item(i) for i in ids])
        assert [r.open_confidence for r in rows] == [0.8, 0.6, None]
        assert rows[0].open_posterior == "[0.2, 0.8]"
    finally:
        store.close()
