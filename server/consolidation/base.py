"""The one calling convention every classification method shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Gold = Mapping[int, int] | tuple[npt.ArrayLike, npt.ArrayLike]
"""Known answers: a mapping item -> class, or a pair of arrays (items, classes)."""


def indexes(values: npt.ArrayLike) -> IntArray:
    """A column of indexes (items, workers, classes, positions) as one flat int64 array."""
    return np.asarray(values, dtype=np.int64).ravel()


def size_of(given: int | None, *columns: IntArray) -> int:
    """How many items (or workers) a table has: `given`, else one more than the
    highest index in `columns`, so the last one has a place in the results."""
    if given is not None:
        return int(given)
    return max((int(c.max()) + 1 for c in columns if c.size), default=0)


@dataclass(frozen=True)
class Judgments:
    """A table of (item, worker, answer) triples, each column an int64 array.

    Items, workers and classes are dense indexes from 0; `n_items`, `n_workers`
    and `n_classes` give the sizes, so an item or worker with no row still has
    a place in the results.
    """

    items: IntArray
    workers: IntArray
    answers: IntArray
    n_items: int
    n_workers: int
    n_classes: int

    @classmethod
    def from_lists(
        cls,
        items: list[int] | IntArray,
        workers: list[int] | IntArray,
        answers: list[int] | IntArray,
        *,
        n_classes: int,
        n_items: int | None = None,
        n_workers: int | None = None,
    ) -> Judgments:
        it = np.asarray(items, dtype=np.int64)
        wk = np.asarray(workers, dtype=np.int64)
        an = np.asarray(answers, dtype=np.int64)
        if not (it.shape == wk.shape == an.shape) or it.ndim != 1:
            raise ValueError("items, workers and answers must be 1-d arrays of one length")
        if an.size and (an.min() < 0 or an.max() >= n_classes):
            raise ValueError(f"answers must be class indexes in [0, {n_classes})")
        size_items = size_of(n_items, it)
        size_workers = size_of(n_workers, wk)
        if it.size and (it.min() < 0 or it.max() >= size_items):
            raise ValueError(f"items must be indexes in [0, {size_items})")
        if wk.size and (wk.min() < 0 or wk.max() >= size_workers):
            raise ValueError(f"workers must be indexes in [0, {size_workers})")
        return cls(
            items=it,
            workers=wk,
            answers=an,
            n_items=size_items,
            n_workers=size_workers,
            n_classes=n_classes,
        )

    def __len__(self) -> int:
        return int(self.items.size)

    def counts(self, weights: FloatArray | None = None) -> FloatArray:
        """Votes per (item, class), optionally weighted per judgment."""
        flat = self.items * self.n_classes + self.answers
        out = np.bincount(flat, weights=weights, minlength=self.n_items * self.n_classes)
        return out.astype(np.float64).reshape(self.n_items, self.n_classes)

    def class_counts(self, weights: FloatArray | None = None) -> FloatArray:
        """Votes per (class, item): `counts` transposed, the layout EM works in.

        Class-major arrays keep every reduction over classes an element-wise
        operation between K long rows, which numpy does far faster than reducing
        a narrow last axis.
        """
        out = np.bincount(self.class_cells(), weights=weights, minlength=self.n_items * self.n_classes)
        return out.astype(np.float64).reshape(self.n_classes, self.n_items)

    def class_cells(self) -> IntArray:
        """Each judgment's cell in a class-major (class, item) table, flattened: where the
        posterior of the answer it gave sits, for the methods that model one accuracy."""
        return self.answers * self.n_items + self.items

    def worker_codes(self) -> IntArray:
        """Each judgment as one (worker, answer) code, flattened: its column in the
        per-worker confusion counts."""
        return self.workers * self.n_classes + self.answers

    def sorted_by_item(self) -> Judgments:
        """The same table with rows in item order (itself when already so).

        Every EM method sums over each item's judgments once per iteration, and
        numpy's bincount runs several times faster when its indexes ascend.
        """
        if self.items.size < 2 or bool(np.all(self.items[1:] >= self.items[:-1])):
            return self
        order = np.argsort(self.items, kind="stable")
        return Judgments(
            items=self.items[order],
            workers=self.workers[order],
            answers=self.answers[order],
            n_items=self.n_items,
            n_workers=self.n_workers,
            n_classes=self.n_classes,
        )

    def by_rank(self, min_items: int) -> Ranks:
        """The judgments regrouped by rank within their item (rows must be in item order):
        layer r holds the r-th judgment of every item that has more than r, items ordered
        by their number of judgments, most first, so each layer covers a prefix of them.

        A per-item sum over a layer is then an element-wise add into a prefix of a dense
        table, and a per-item value is read by slicing, not gathered per judgment: for an
        EM step over a million judgments that is about half the work of a gather and a
        bincount per class, and adds each item's terms in the same order. Layers with
        fewer than `min_items` items (the ranks only a few items reach) are left to
        `Ranks.tail`, for the gather-and-bincount form.
        """
        per_item = np.bincount(self.items, minlength=self.n_items)
        most_first = -per_item if per_item.size and per_item.max() >= 2**15 else -per_item.astype(np.int16)
        order = np.argsort(most_first, kind="stable")
        first = np.cumsum(per_item) - per_item
        layers: list[IntArray] = []
        reached = per_item[order]
        while True:
            size = int(np.count_nonzero(reached > len(layers)))
            if size < max(min_items, 1):
                break
            layers.append(first[order[:size]] + len(layers))
        rank = np.arange(self.items.size) - first[self.items]
        return Ranks(order=order, layers=layers, tail=np.flatnonzero(rank >= len(layers)))

    def per_item(self, table: FloatArray, keys: IntArray) -> FloatArray:
        """For each row of `table`, sums `row[keys[j]]` over each item's judgments j.

        The sparse product at the heart of every EM method: a 1-d take and a
        weighted bincount per row is the fastest form of it numpy offers.
        """
        return np.stack(
            [np.bincount(self.items, weights=row.take(keys), minlength=self.n_items) for row in table]
        )

    def has_votes(self) -> BoolArray:
        return np.bincount(self.items, minlength=self.n_items) > 0


@dataclass(frozen=True)
class Ranks:
    """`Judgments.by_rank`: `layers[r]` are the rows of the r-th judgment of the items
    `order[:len(layers[r])]`; `tail` the rows of the ranks left out of every layer."""

    order: IntArray
    layers: list[IntArray]
    tail: IntArray


@dataclass
class ClassificationResult:
    """What a classification method learned.

    `labels[i]` is -1 for an item with no judgment. `posteriors[i]` sums to 1
    (uniform for an item with no judgment), `confidence[i]` is the posterior of
    the chosen label, and `ties[i]` says the top posteriors were equal and the
    chosen class is the tied one the class prior favours (see `decide`). `worker_skill[w]` is the probability that the
    worker answers correctly (NaN for a method that cannot say), `confusion[w, t, a]`
    the probability of answer `a` when the truth is `t`, and `log_likelihood` the
    history of the fitted objective, one entry per EM iteration. `class_priors` are
    the learned class frequencies and `item_difficulty` (GLAD only) how hard each
    item is, 1 for an average item and larger for harder ones.
    """

    labels: IntArray
    posteriors: FloatArray
    confidence: FloatArray
    ties: BoolArray
    worker_skill: FloatArray
    confusion: FloatArray | None = None
    log_likelihood: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = True
    class_priors: FloatArray | None = None
    item_difficulty: FloatArray | None = None


class Classifier(ABC):
    """The one calling convention of every classification method, crowd-kit style:
    configured in the constructor, run with `fit`, answering with a `ClassificationResult`.

    `gold` pins known items to their answer (and lets the method learn from them);
    `worker_skill` is a prior accuracy per worker (NaN where unknown), which a method
    that does not weigh workers ignores.
    """

    @abstractmethod
    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult: ...


def decide(
    posteriors: FloatArray,
    has_votes: BoolArray,
    *,
    tie_tol: float = 1e-9,
    priors: FloatArray | None = None,
) -> tuple[IntArray, FloatArray, BoolArray]:
    """Picks each item's label from its posterior; a tie goes to the tied class the
    job's class prior favours, and is flagged.

    Without `priors` the prior is the job's own class frequencies: the posteriors
    summed over the items with votes. The lowest index decides only between classes
    the prior cannot tell apart (a single item on its own, or equal frequencies); a
    fixed lowest-index rule is right by luck when class 0 is the commonest and wrong
    otherwise. Works on a class-major copy: reducing a narrow last axis is an order
    of magnitude slower in numpy than K element-wise passes over long rows.
    """
    by_class = np.ascontiguousarray(posteriors.T)
    n = posteriors.shape[0]
    top = np.maximum.reduce(by_class, axis=0) if by_class.size else np.zeros(n)
    prior = (
        np.asarray(priors, dtype=np.float64)
        if priors is not None
        else by_class @ has_votes.astype(np.float64)
        if by_class.size
        else np.zeros(0)
    )
    labels = np.zeros(n, dtype=np.int64)
    best = np.full(n, -np.inf)
    near = np.zeros(n, dtype=np.int64)
    for k in range(by_class.shape[0]):
        close = by_class[k] >= top - tie_tol
        near += close
        better = close & (prior[k] > best)
        labels[better] = k
        best[better] = prior[k]
    ties = (near > 1) & has_votes
    labels = np.where(has_votes, labels, -1)
    return labels, np.where(has_votes, top, 0.0), ties


def normalise_rows(matrix: FloatArray) -> FloatArray:
    """Rows scaled to sum to 1; an all-zero row becomes uniform."""
    if matrix.ndim != 2 or not matrix.shape[1]:
        return np.asarray(matrix, dtype=np.float64)
    sums = np.add.reduce(np.ascontiguousarray(matrix.T), axis=0)[:, None]
    return np.where(sums > 0, matrix / np.where(sums > 0, sums, 1.0), 1.0 / matrix.shape[1])


def gold_arrays(gold: Gold | None, n_items: int, n_classes: int) -> tuple[IntArray, IntArray]:
    """Normalises either gold form to two int64 arrays, checking the ranges."""
    if gold is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if isinstance(gold, Mapping):
        items = np.fromiter(gold.keys(), dtype=np.int64, count=len(gold))
        answers = np.fromiter(gold.values(), dtype=np.int64, count=len(gold))
    else:
        items, answers = indexes(gold[0]), indexes(gold[1])
    if items.shape != answers.shape:
        raise ValueError("gold items and gold answers must have one length")
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise ValueError(f"gold items must be item indexes in [0, {n_items})")
    if answers.size and (answers.min() < 0 or answers.max() >= n_classes):
        raise ValueError(f"gold answers must be class indexes in [0, {n_classes})")
    return items, answers


def gold_and_votes(judgments: Judgments, gold: Gold | None) -> tuple[IntArray, IntArray, BoolArray]:
    """Gold as arrays, and which items have evidence (an answer, or gold):
    what every EM model sets up first."""
    gold_items, gold_answers = gold_arrays(gold, judgments.n_items, judgments.n_classes)
    return gold_items, gold_answers, has_evidence(judgments, gold_items)


def has_evidence(judgments: Judgments, gold_items: IntArray) -> BoolArray:
    """Which items have evidence, an answer or gold: the ones a method labels."""
    has_votes = judgments.has_votes()
    has_votes[gold_items] = True
    return has_votes


def item_posteriors(soft: FloatArray, has_votes: BoolArray) -> FloatArray:
    """Item-major posteriors from class-major soft labels, uniform for an item without evidence."""
    return np.where(has_votes[:, None], soft.T, 1.0 / max(soft.shape[0], 1))


def clamp_gold(soft: FloatArray, gold_items: IntArray, gold_answers: IntArray) -> FloatArray:
    """Replaces gold items' class-major posteriors by their known answer, in place."""
    if gold_items.size:
        soft[:, gold_items] = 0.0
        soft[gold_answers, gold_items] = 1.0
    return soft


def log_normalise(log_joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Class-major posteriors and per-item log evidence from unnormalised log probabilities."""
    top = np.maximum.reduce(log_joint, axis=0)
    weights = np.exp(log_joint - top)
    total = np.add.reduce(weights, axis=0)
    return weights / total, np.log(total) + top


def gold_log_likelihood(
    log_joint: FloatArray, evidence: FloatArray, gold_items: IntArray, gold_answers: IntArray
) -> float:
    """Total log-likelihood, counting gold items at their known class.

    Gold items are observed, not latent, so they contribute log p(truth, answers)
    rather than the evidence summed over classes.
    """
    total = float(evidence.sum())
    if gold_items.size:
        total += float((log_joint[gold_answers, gold_items] - evidence[gold_items]).sum())
    return total


def class_priors(soft: FloatArray, has_votes: BoolArray, smoothing: float = 1.0) -> FloatArray:
    """Class frequencies from class-major soft labels, add-`smoothing` so no class reaches zero."""
    total = soft @ has_votes.astype(np.float64) + smoothing
    return np.asarray(total / total.sum(), dtype=np.float64)


def vote_shares(judgments: Judgments) -> FloatArray:
    """The class-major majority-vote posteriors every EM method starts from."""
    counts = judgments.class_counts()
    total = counts.sum(axis=0)
    return np.where(total > 0, counts / np.where(total > 0, total, 1.0), 1.0 / max(judgments.n_classes, 1))


def skill_prior(worker_skill: FloatArray | None, n_workers: int) -> tuple[FloatArray, BoolArray]:
    """A caller's prior worker accuracy, with a mask of the workers it covers."""
    if worker_skill is None:
        return np.full(n_workers, np.nan), np.zeros(n_workers, dtype=np.bool_)
    skill = np.asarray(worker_skill, dtype=np.float64)
    if skill.shape != (n_workers,):
        raise ValueError(f"worker_skill must have one entry per worker ({n_workers}), got {skill.shape}")
    known = ~np.isnan(skill)
    return np.clip(skill, 1e-3, 1 - 1e-3), known


def finish(
    soft: FloatArray,
    has_votes: BoolArray,
    worker_skill: FloatArray,
    *,
    confusion: FloatArray | None = None,
    log_likelihood: list[float] | None = None,
    n_iter: int = 0,
    converged: bool = True,
    priors: FloatArray | None = None,
    item_difficulty: FloatArray | None = None,
) -> ClassificationResult:
    """Builds the result from final class-major posteriors; items with no judgment stay uniform."""
    posteriors = item_posteriors(soft, has_votes)
    labels, confidence, ties = decide(posteriors, has_votes, priors=priors)
    return ClassificationResult(
        labels=labels,
        posteriors=posteriors,
        confidence=confidence,
        ties=ties,
        worker_skill=worker_skill,
        confusion=confusion,
        log_likelihood=log_likelihood if log_likelihood is not None else [],
        n_iter=n_iter,
        converged=converged,
        class_priors=priors,
        item_difficulty=item_difficulty,
    )
