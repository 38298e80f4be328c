"""Extra judgments where they settle the item (issue 13, wanted 2).

With dynamic judgments an item past its floor (`JobSpec.floor`: one judgment) whose posterior is under
the target waits for one more answer; its posterior is stored on the item
(`labels.items.finish_item`, each pass). Its next answer is worth most from a worker likely to
be right on the classes the item probably is, so the dispatcher offers the least confident
contested item the worker has not judged (`consolidation.dynamic.route`), and only to a
present worker whose skill on that item is at or above the median of the workers present. Items
under their floor, oldest first, go to a worker at or above the lowest quarter of the job's
qualified workers (`FRESH_QUANTILE`): a first judgment from the weakest quarter seldom settles
an item, so it mostly buys the judgments that follow. A contested item, or one under its floor,
goes to a weaker worker only when no stronger present worker who has not judged it could take
it: it is never stranded.
"""

from __future__ import annotations

import json

import numpy as np

from labelwire.server.dispatch import gate as quality
from labelwire.server.domain.model import JobSpec
from labelwire.server.labels.pass_models import JobModel, job_model
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow, WorkerRow

UNSURE_SCAN = 1
"""Contested items, least confident first, a worker may be offered: only the least confident
one. Scanning 20 and offering any one whose cut the worker passes let most workers past some
cut, and the extra judgments it cost were not the ones that settle (bench/README.md, "Quality
per dollar": with a floor of one, fixed-5 DS accuracy took 65-75% of the judgments, against
54-60% offering only the least confident)."""
FRESH_SCAN = 20
"""Open items past the dispatcher's pick read to find a weaker worker an item under its floor."""
FRESH_QUANTILE = 0.25
"""A worker below this quantile of the skills of the job's qualified workers (present or not, so
that turning a weak worker away does not raise the cut) waits for an item under its floor while
a present worker at or above it could take the item. In simulation it brought the budget
that reaches fixed-5 majority vote's accuracy from 51-55% to 46-48% of fixed-5's judgments
(bench/README.md, "Fresh items to the stronger three quarters"); the price is time, as for
contested items."""


class Skills:
    """The skill of each present worker on an item: the diagonal of its confusion matrix
    from the job's last pass weighed by the item's posterior, else its estimated skill."""

    def __init__(self, present: dict[int, float], model: JobModel | None) -> None:
        self.ids = list(present)
        self.flat = np.array([present[w] for w in self.ids], dtype=np.float64)
        self.diagonals: np.ndarray | None = None
        if model is not None:
            k = len(model.priors)
            rows = [
                np.diagonal(model.confusions[w]) if w in model.confusions else np.full(k, present[w])
                for w in self.ids
            ]
            self.diagonals = np.array(rows, dtype=np.float64).reshape(len(self.ids), k)

        self.priors = None if model is None else np.asarray(model.priors, dtype=np.float64)

    def on(self, item: ItemRow) -> np.ndarray:
        """Each present worker's skill on `item`, in the order of `ids`; on an item without a
        posterior yet, weighed by the class priors of the job's last pass."""
        posterior = item.open_posterior
        if self.diagonals is None:
            return self.flat
        if posterior is None:
            assert self.priors is not None
            return np.asarray(self.diagonals @ (self.priors / max(float(self.priors.sum()), 1e-12)))
        weights = np.asarray(json.loads(posterior), dtype=np.float64)
        if len(weights) != self.diagonals.shape[1] or weights.sum() <= 0:
            return self.flat
        return np.asarray(self.diagonals @ (weights / weights.sum()))


def routed(
    tx: Tx, spec: JobSpec, job_id: int, worker: WorkerRow, row: ItemRow | None, now: float, pilot: bool
) -> ItemRow | None:
    """The item to offer `worker`, given `row`, the oldest open item it has not seen (or None):
    the least confident contested item when it is at or above that item's cut, else an item
    under its floor, else a contested item no stronger present worker could take, else nothing."""
    if spec.target_confidence <= 0:
        return row
    worker_id = worker.id
    floor = spec.floor
    unsure = tx.unsure_rows(job_id, worker_id, UNSURE_SCAN, pilot=pilot)
    if not unsure and row is None:
        return None
    rows = tx.routing_workers(job_id, quality.ROUTING_WORKER_SCAN)
    present = quality.present_skills(rows, now)
    present[worker_id] = quality.worker_skill(worker)
    model = job_model(tx, job_id)
    skills = Skills(present, model)
    me = skills.ids.index(worker_id)
    cuts = []
    for item in unsure:
        on_item = skills.on(item)
        cut = float(np.median(on_item))
        if on_item[me] >= cut:
            return item
        cuts.append((item, on_item, cut))
    fresh = row if row is not None and row.done < floor else None
    if row is not None and fresh is None:
        for later in tx.next_work_rows(job_id, worker_id, row.id, FRESH_SCAN, pilot=pilot):
            if later.done < floor:
                fresh = later
                break
    if fresh is not None:
        on_fresh = skills.on(fresh)
        qualified = quality.qualified_skills(rows)  # only now: a contested item may have been offered
        qualified[worker_id] = present[worker_id]
        cut = float(np.quantile(Skills(qualified, model).on(fresh), FRESH_QUANTILE))
        if on_fresh[me] >= cut:
            return fresh
        cuts.append((fresh, on_fresh, cut))
    if row is not None and row.done >= floor and row.open_confidence is None:
        on_row = skills.on(row)  # contested before its posterior was stored
        cuts.append((row, on_row, float(np.median(on_row))))
    for item, on_item, cut in cuts:
        if not _awaits_stronger(tx, skills.ids, on_item, cut, worker_id, item.id):
            return item
    return None


def _awaits_stronger(
    tx: Tx, ids: list[int], on_item: np.ndarray, cut: float, worker_id: int, item_id: int
) -> bool:
    """Whether a present worker at or above the item's cut, other than `worker_id`, has not
    judged the item and so could take it."""
    return any(
        skill >= cut and other != worker_id and not tx.has_task(other, item_id)
        for other, skill in zip(ids, on_item.tolist(), strict=True)
    )
