"""Multi-label classification: each class is its own yes/no question.

Binary relevance: a worker who ticked "cat" and "dog" voted yes on both and no
on every other class. Each class is then consolidated by any single-label method
over two classes, so a worker's skill is learned per class (a worker can be
reliable on "cat" and careless on "fox").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import (
    BoolArray,
    ClassificationResult,
    Classifier,
    FloatArray,
    IntArray,
    Judgments,
    size_of,
)
from labelwire.server.consolidation.dawid_skene import DawidSkene


@dataclass(frozen=True)
class MultiLabelJudgments:
    """One row per (item, worker) answer; `selected[j, c]` says class c was ticked."""

    items: IntArray
    workers: IntArray
    selected: BoolArray
    n_items: int
    n_workers: int

    @property
    def n_classes(self) -> int:
        return int(self.selected.shape[1])

    @classmethod
    def from_lists(
        cls,
        items: list[int] | IntArray,
        workers: list[int] | IntArray,
        selected: npt.ArrayLike,
        *,
        n_items: int | None = None,
        n_workers: int | None = None,
    ) -> MultiLabelJudgments:
        it = np.asarray(items, dtype=np.int64)
        wk = np.asarray(workers, dtype=np.int64)
        sel = np.asarray(selected, dtype=np.bool_)
        if it.ndim != 1 or it.shape != wk.shape or sel.ndim != 2 or sel.shape[0] != it.size:
            raise ValueError(
                "items and workers must be 1-d of one length n, selected an n x n_classes matrix"
            )
        return cls(
            items=it,
            workers=wk,
            selected=sel,
            n_items=size_of(n_items, it),
            n_workers=size_of(n_workers, wk),
        )

    def for_class(self, c: int) -> Judgments:
        """The yes/no question "is class c present?" as a two-class table."""
        return Judgments(
            items=self.items,
            workers=self.workers,
            answers=self.selected[:, c].astype(np.int64),
            n_items=self.n_items,
            n_workers=self.n_workers,
            n_classes=2,
        )


@dataclass
class MultiLabelResult:
    """`posteriors[i, c]` is P(class c applies to item i); `labels` says it exceeds the threshold.

    `confidence[i, c]` is the posterior of the decision taken for that class
    (P(present) when labelled present, P(absent) otherwise); `worker_skill[w, c]`
    is the worker's accuracy on the yes/no question for class c.
    """

    labels: BoolArray
    posteriors: FloatArray
    confidence: FloatArray
    worker_skill: FloatArray
    per_class: list[ClassificationResult]


MultiLabelGold = tuple[npt.ArrayLike, npt.ArrayLike]
"""Known answers: (items, selected matrix), one row of ticked classes per item."""


class MultiLabelClassifier(ABC):
    """The one calling convention of every multi-label method, the classifiers' own:
    configured in the constructor, run with `fit(table, *, gold=None, worker_skill=None)`,
    answering with a `MultiLabelResult`."""

    @abstractmethod
    def fit(
        self,
        judgments: MultiLabelJudgments,
        *,
        gold: MultiLabelGold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> MultiLabelResult: ...


class BinaryRelevance(MultiLabelClassifier):
    """Consolidates each class separately with `aggregator` (Dawid-Skene by default).

    Model: the classes are independent yes/no questions, each consolidated on its own,
    so a worker's reliability is learned per class. Tsoumakas & Katakis (2007),
    "Multi-label classification: an overview", International Journal of Data
    Warehousing and Mining 3(3).

    Dawid-Skene suits this well: each worker gets a 2 x 2 matrix per class, so a
    worker who ticks too much (high false-positive rate) and one who ticks too
    little are told apart. Use `MajorityVote()` for a plain per-class vote.
    `worker_skill` is handed to the aggregator for every class.

    Example (three workers tick classes of two items; two of three agree on each):

    >>> from labelwire.server.consolidation import BinaryRelevance, MajorityVote, MultiLabelJudgments
    >>> j = MultiLabelJudgments.from_lists(
    ...     [0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2],
    ...     [[1, 0], [1, 1], [0, 0], [0, 1], [0, 1], [1, 1]],
    ... )
    >>> BinaryRelevance(MajorityVote()).fit(j).labels.tolist()
    [[True, False], [False, True]]
    """

    def __init__(self, aggregator: Classifier | None = None, threshold: float = 0.5) -> None:
        self.aggregator: Classifier = aggregator if aggregator is not None else DawidSkene()
        self.threshold = threshold

    def fit(
        self,
        judgments: MultiLabelJudgments,
        *,
        gold: MultiLabelGold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> MultiLabelResult:
        """`gold` is (items, selected matrix) for items whose classes are known."""
        gold_items = gold_matrix = None
        if gold is not None:
            gold_items = np.asarray(gold[0], dtype=np.int64)
            gold_matrix = np.asarray(gold[1], dtype=np.bool_).reshape(gold_items.size, judgments.n_classes)
        per_class = []
        for c in range(judgments.n_classes):
            class_gold = None
            if gold_items is not None and gold_matrix is not None:
                class_gold = (gold_items, gold_matrix[:, c].astype(np.int64))
            per_class.append(
                self.aggregator.fit(judgments.for_class(c), gold=class_gold, worker_skill=worker_skill)
            )
        posteriors = np.stack([r.posteriors[:, 1] for r in per_class], axis=1)
        labels = posteriors > self.threshold
        return MultiLabelResult(
            labels=labels,
            posteriors=posteriors,
            confidence=np.where(labels, posteriors, 1 - posteriors),
            worker_skill=np.stack([r.worker_skill for r in per_class], axis=1),
            per_class=per_class,
        )
