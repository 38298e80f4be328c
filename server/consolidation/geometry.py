"""The one calling convention of the geometric answer types: boxes, spans and masks.

Each is configured in its constructor and run with `fit(table, *, worker_skill=None)`,
like the classifiers, on a table of its own (`BoxJudgments`, `SpanJudgments`, a stack of
masks) and answers with a result of its own: a box, a span and a pixel have different
coordinates, so their results cannot share one type the way the classifiers' do.
Key points and numbers go through `numeric.NumericMethod`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import FloatArray, IntArray, indexes

TableT = TypeVar("TableT", contravariant=True)
ResultT = TypeVar("ResultT", covariant=True)


class GeometryMethod(ABC, Generic[TableT, ResultT]):
    """A consolidation of drawn or marked answers: `fit(table, *, worker_skill=None)`.

    `worker_skill` is an accuracy per worker (NaN where unknown) that weighs each
    worker's answers; without it every worker counts the same.
    """

    @abstractmethod
    def fit(self, judgments: TableT, *, worker_skill: FloatArray | None = None) -> ResultT: ...


def skill_weights(worker_skill: FloatArray | None, n_workers: int) -> FloatArray:
    """Each worker's weight: its skill, floored above zero so a weak worker still counts a
    little, and 1 where the skill is unknown (or no skills were given)."""
    if worker_skill is None:
        return np.ones(n_workers)
    return np.asarray(
        np.where(np.isnan(worker_skill), 1.0, np.clip(worker_skill, 1e-3, None)), dtype=np.float64
    )


def shown(
    assigned_items: IntArray, assigned_workers: IntArray, n_workers: int, weight: FloatArray, n_items: int
) -> tuple[IntArray, FloatArray]:
    """Per item, how many workers were shown it and their summed `weight`, a worker
    assigned an item twice counting once: one who was shown it and marked nothing
    still voted "nothing here"."""
    pairs = np.unique(assigned_items * n_workers + assigned_workers)
    items, workers = pairs // n_workers, pairs % n_workers
    count = np.bincount(items, minlength=n_items).astype(np.int64)
    return count, np.bincount(items, weights=weight[workers], minlength=n_items).astype(np.float64)


@dataclass(frozen=True)
class MarkedJudgments:
    """What a table of drawn or marked answers (`BoxJudgments`, `SpanJudgments`) holds
    beside its coordinates: one row per mark, with its item, worker and class, and who
    was shown each item (`assigned_*`), since a worker shown an item who marked nothing
    voted "nothing here"; without the assignments a lone mark would look unanimous."""

    items: IntArray
    workers: IntArray
    labels: IntArray
    assigned_items: IntArray
    assigned_workers: IntArray
    n_workers: int

    def voters(
        self, worker_skill: FloatArray | None, n_items: int
    ) -> tuple[FloatArray, IntArray, FloatArray]:
        """Each worker's weight (`skill_weights`), and per item how many workers were
        shown it and their summed weight (`shown`)."""
        weight = skill_weights(worker_skill, self.n_workers)
        count, total = shown(self.assigned_items, self.assigned_workers, self.n_workers, weight, n_items)
        return weight, count, total


def assignments(assigned: tuple[npt.ArrayLike, npt.ArrayLike]) -> tuple[IntArray, IntArray]:
    """(items, workers) of who was shown which item, as index arrays."""
    return indexes(assigned[0]), indexes(assigned[1])
