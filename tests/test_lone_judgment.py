"""A lone judgment is labeled only as far as the worker's record deserves (issue 13: the
first label is the final one). A pass early in a job has seen most workers answer alone,
where the item's label is their own answer, so its fitted matrices call them nearly
perfect; between passes the server labels with those matrices shrunk towards the pool's
gold accuracy by each worker's answers (`consolidation.pool_shrink`)."""

from __future__ import annotations

import json

from labelwire.server.consolidation import DawidSkene, Judgments
from labelwire.server.domain.model import ItemState, JobSpec, LabelClass
from labelwire.server.labels import passes
from labelwire.server.labels.items import consolidate_item
from labelwire.server.store.rows import PassInputRow

NAMES = ("a", "b", "c")
TARGET = 0.8
LONE = 9


def _spec() -> JobSpec:
    return JobSpec(
        display_name="J",
        task_type="classification",
        classes=tuple(LabelClass(n) for n in NAMES),
        task_config={"classes": [{"name": n} for n in NAMES]},
        judgments_per_item=1,
        max_judgments_per_item=4,
        target_confidence=TARGET,
        consolidation_method="dawid_skene",
    )


def _row(item: int, worker: int, answer: str) -> PassInputRow:
    return PassInputRow(
        item,
        worker,
        json.dumps({"classification": {"class_name": answer}}),
        0,
        None,
        int(ItemState.LABELED),
        None,
    )


def _rows() -> list[PassInputRow]:
    rows = [_row(item, worker, NAMES[item % 3]) for item in range(1, 61) for worker in (1, 2, 3)]
    rows += [_row(100 + n, LONE, NAMES[n % 3]) for n in range(5)]  # five items nobody else judged
    return rows


def _answer(worker: int, name: str) -> list[tuple[int, dict[str, object]]]:
    return [(worker, {"classification": {"class_name": name}})]


def test_a_lone_judgment_by_a_worker_the_pass_saw_only_alone_is_not_labeled_at_the_target() -> None:
    rows = _rows()
    result = passes.compute(_spec(), rows, pool_skill=0.6)
    assert result.model is not None
    label = consolidate_item(_spec(), _answer(LONE, "b"), model=result.model)
    assert label is not None and label.confidence < TARGET  # it asks for another judgment

    # The fit alone would have labeled it: five answers nobody contradicted look perfect.
    index = {name: n for n, name in enumerate(NAMES)}
    items = sorted({r.item_id for r in rows})
    table = Judgments.from_lists(
        [items.index(r.item_id) for r in rows],
        [r.worker_id for r in rows],
        [index[json.loads(r.answer)["classification"]["class_name"]] for r in rows],
        n_classes=3,
    )
    fitted = DawidSkene().fit(table).confusion
    assert fitted is not None
    column = fitted[LONE][:, 1] * result.model.priors
    assert column[1] / column.sum() >= TARGET


def test_a_worker_others_confirmed_on_many_items_is_still_trusted_alone() -> None:
    result = passes.compute(_spec(), _rows(), pool_skill=0.6)
    assert result.model is not None
    label = consolidate_item(_spec(), _answer(1, "b"), model=result.model)
    assert label is not None and label.confidence >= TARGET
    assert label.value == {"classification": {"class_name": "b"}}


def test_two_confirmed_workers_who_agree_settle_an_item() -> None:
    result = passes.compute(_spec(), _rows(), pool_skill=0.6)
    assert result.model is not None
    label = consolidate_item(_spec(), _answer(1, "c") + _answer(2, "c"), model=result.model)
    assert label is not None and label.confidence > 0.95
