"""The prior a Dawid-Skene worker's confusion rows are shrunk towards, in three levels.

One Dirichlet of one strength per row cannot say what crowds are like: a worker's accuracy
varies a lot from worker to worker (sd 0.13-0.23 on `quality.py`'s crowds), how its errors
split over the wrong classes much less, and a worker's rows share its accuracy. The one
strength the evidence picked for all cells sat between the two (a Dirichlet cell's variance is
m(1 - m)/(s + 1): the diagonal asks for s near 10, the off-diagonal cells for 30-50), so fitted
accuracies came out with 0.60-0.68 of the workers' true spread while one-coin's had 0.92-0.98;
the strong looked weaker and the weak stronger, and the band between 0.6 and 0.9 was 1-2 points
too sure where that mattered most (spammers, items of varied difficulty).

Here each level has its own strength, each chosen by the evidence of the expected counts
(`shrinkage.fitted_strength`):

- a worker's accuracy over all its answers, Beta around the pool's (or the caller's skill);
- each row's accuracy, Beta around its worker's, moved by the class's own log-odds in the pool;
- how a row's errors split over the wrong answers, Dirichlet around the pool's split.

A row's predictive is then P(right) = (c_tt + s_row m_wt) / (n_t + s_row) and, for a wrong
answer a, (1 - P(right)) (c_ta + s_err q_ta) / (e_t + s_err). Scoring an item held out removes
its own posterior p from the counts it sits in; with the three levels that is two ratios of a
count minus p over a total minus p (the row's right or wrong share, then a wrong answer's share
of the row's errors), `Scoring`. The worker's accuracy moves with p too, by 1/(its answers) of
the row's: that part is taken to first order (`Scoring.slope`). Taking the whole product to
first order was tried and is not safe: a strong worker's one wrong answer in a row is most of
that row's wrong mass, and the tangent went below zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelwire.server.consolidation.base import BoolArray, FloatArray
from labelwire.server.consolidation.shrinkage import fitted_strength

ROW_STRENGTH_MAX = 1000.0
"""Rows whose accuracies do not vary within workers reach this: pinned to the worker's."""
ERROR_STRENGTH_MAX = 2000.0
"""Errors spread evenly (the planted-difficulty crowds) fit 100-150; uniform errors go further."""
FIT_WORKERS = 500
"""Workers the strengths are fitted on (every k-th of those who answered): a strength is one
number for the crowd, and the evidence over a 1M-judgment job's 5,000 workers cost as much as
two E-steps (13 ms on 500, 20 on 1,000)."""


@dataclass(frozen=True)
class RowPrior:
    """The three fitted strengths, in pseudo-answers."""

    worker: float
    row: float
    error: float


@dataclass(frozen=True)
class _Parts:
    """The expected counts split into each row's right answers, its total, its wrong answers by
    answer, and the pool's means each level is shrunk towards."""

    right: FloatArray
    """[worker, truth]"""
    total: FloatArray
    """[worker, truth]"""
    wrong: FloatArray
    """[worker, truth, K - 1], the wrong answers in class order"""
    split: FloatArray
    """[worker, truth, K - 1], the prior's error split (sums to 1)"""
    centre: FloatArray
    """[worker], the accuracy each worker is shrunk towards"""
    shift: FloatArray
    """[truth], the class's log-odds of a right answer in the pool minus the pool's"""


def _logit(x: FloatArray) -> FloatArray:
    x = np.clip(x, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(x) - np.log1p(-x), dtype=np.float64)


def _parts(counts: FloatArray, prior: FloatArray, prior_skill: FloatArray, skill_known: BoolArray) -> _Parts:
    n_workers, k, _ = counts.shape
    eye = np.eye(k, dtype=bool)
    right = counts[:, eye]
    total = counts.sum(axis=2)
    wrong = counts[:, ~eye].reshape(n_workers, k, k - 1)
    split = prior[:, ~eye].reshape(n_workers, k, k - 1)
    split = split / split.sum(axis=2, keepdims=True)
    pool = float(np.clip(right.sum() / max(total.sum(), 1.0), 1e-6, 1 - 1e-6))
    by_class = right.sum(axis=0) / np.maximum(total.sum(axis=0), 1.0)
    centre = np.where(skill_known, prior_skill, pool)
    return _Parts(right, total, wrong, split, centre, _logit(by_class) - _logit(np.array(pool)))


def _row_means(parts: _Parts, worker_strength: float) -> tuple[FloatArray, FloatArray]:
    """Each worker's shrunk accuracy, and the accuracy each of its rows is shrunk towards."""
    alpha = (parts.right.sum(axis=1) + worker_strength * parts.centre) / (
        parts.total.sum(axis=1) + worker_strength
    )
    means = 1 / (1 + np.exp(-(_logit(alpha)[:, None] + parts.shift[None])))
    return np.asarray(alpha, dtype=np.float64), np.asarray(np.clip(means, 1e-6, 1 - 1e-6), dtype=np.float64)


def _two(p: FloatArray) -> FloatArray:
    return np.stack([p, 1 - p], axis=-1)


def fit_row_prior(
    counts: FloatArray, prior: FloatArray, prior_skill: FloatArray, skill_known: BoolArray
) -> RowPrior:
    """The three strengths under which the expected counts ([worker, truth, answer]) are most
    probable, level by level. `prior` is the one-level prior matrix (the pool's, or the
    caller's skill with errors spread evenly); its error split is kept."""
    whole = _parts(counts, prior, prior_skill, skill_known)
    active = np.flatnonzero(whole.total.sum(axis=1) > 0)
    picked = active[:: max(-(-active.size // FIT_WORKERS), 1)]
    parts = _Parts(
        whole.right[picked],
        whole.total[picked],
        whole.wrong[picked],
        whole.split[picked],
        whole.centre[picked],
        whole.shift,
    )
    accuracy, answered = parts.right.sum(axis=1), parts.total.sum(axis=1)
    worker = fitted_strength(
        np.stack([accuracy, answered - accuracy], axis=-1), _two(np.clip(parts.centre, 1e-6, 1 - 1e-6))
    )
    _, means = _row_means(parts, worker)
    row = fitted_strength(
        np.stack([parts.right, parts.total - parts.right], axis=-1), _two(means), high=ROW_STRENGTH_MAX
    )
    error = fitted_strength(parts.wrong, np.maximum(parts.split, 1e-9), high=ERROR_STRENGTH_MAX)
    return RowPrior(worker, row, error)


SPLIT_ONE = 2.0
"""A right answer's split numerator and denominator both: (2 - p) / (2 - p) = 1 for p <= 1."""


@dataclass(frozen=True)
class Scoring:
    """The smoothed matrices as factors whose held-out form is exact, all [worker, truth, answer]
    but `rows` ([worker, truth]). An item whose own posterior on the truth is p is scored with
    (share - p slope) / (rows - p) x (split - p) / (split_rows - p)."""

    share: FloatArray
    """The right cell for a right answer, the row's wrong mass for a wrong one."""
    rows: FloatArray
    slope: FloatArray | None = None
    """1, plus how far the item's own p moves `share` through its worker's accuracy; None
    (with `split` and `split_rows`) for one Dirichlet per row, whose `share` is the cell."""
    split: FloatArray | None = None
    """The wrong answer's smoothed count (`SPLIT_ONE` for a right answer)."""
    split_rows: FloatArray | None = None
    """The row's smoothed wrong answers (`SPLIT_ONE` for a right answer)."""

    def by_code(self) -> list[FloatArray]:
        """The tables a judgment is scored with, each [code, truth] (code = worker x K + answer,
        contiguous for one gather each): `share` alone for one Dirichlet per row, else share,
        slope, split and split rows."""
        tables = [self.share]
        if self.slope is not None and self.split is not None and self.split_rows is not None:
            tables = [self.share, self.slope, self.split, self.split_rows]
        k = self.share.shape[1]
        return [np.ascontiguousarray(table.transpose(0, 2, 1)).reshape(-1, k) for table in tables]

    def confusion(self) -> FloatArray:
        """The smoothed confusion matrices themselves (nothing held out)."""
        matrices = self.share / self.rows[:, :, None]
        if self.split is not None and self.split_rows is not None:
            matrices = matrices * self.split / self.split_rows
        return np.asarray(matrices, dtype=np.float64)


def scoring_tables(
    counts: FloatArray,
    prior: FloatArray,
    fitted: RowPrior,
    prior_skill: FloatArray,
    skill_known: BoolArray,
) -> Scoring:
    """`Scoring` for these expected counts ([worker, truth, answer]) under the fitted prior."""
    parts = _parts(counts, prior, prior_skill, skill_known)
    n_workers, k, _ = counts.shape
    eye = np.eye(k, dtype=bool)
    alpha, means = _row_means(parts, fitted.worker)
    answered = parts.total.sum(axis=1) + fitted.worker
    # How far a row's mean moves per unit of the item's posterior taken out of its worker's
    # accuracy: d mean / d alpha = m (1 - m) / (alpha (1 - alpha)), times d alpha / d p,
    # -(1 - alpha) / answered for a right answer and alpha / answered for a wrong one.
    moved = fitted.row * means * (1 - means) / answered[:, None]
    alpha = np.clip(alpha, 1e-6, 1 - 1e-6)[:, None]
    share = np.empty_like(counts)
    share[:] = (parts.total - parts.right + fitted.row * (1 - means))[:, :, None]
    share[:, eye] = parts.right + fitted.row * means
    slope = np.empty_like(counts)
    slope[:] = (1 + moved / (1 - alpha))[:, :, None]
    slope[:, eye] = 1 + moved / alpha
    cells = parts.wrong + fitted.error * parts.split
    split = np.full_like(counts, SPLIT_ONE)
    split[:, ~eye] = cells.reshape(n_workers, -1)
    split_rows = np.full_like(counts, SPLIT_ONE)
    split_rows[:, ~eye] = np.repeat(cells.sum(axis=2), k - 1, axis=1)
    return Scoring(share, np.asarray(parts.total + fitted.row, dtype=np.float64), slope, split, split_rows)


def held_out_ratio(gathered: list[FloatArray], own: FloatArray) -> FloatArray:
    """A judgment's held-out numerator from its gathered rows of `Scoring.by_code` (share alone,
    or share, slope, split and split rows) and the item's own posteriors, computed in place in
    the first; the caller divides by its row sums minus `own`."""
    ratio = gathered[0]
    if len(gathered) == 1:
        ratio -= own
        return ratio
    slope, split, split_rows = gathered[1:]
    slope *= own
    ratio -= slope
    split -= own
    split_rows -= own
    split /= split_rows
    ratio *= split
    return ratio
