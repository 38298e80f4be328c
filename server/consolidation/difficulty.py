"""Item difficulty integrated out of a confusion-matrix model's scores (Dawid-Skene, one-coin).

Neither Dawid-Skene nor one-coin models items that differ in difficulty: every answer on an
item is weighed by its worker's average matrix, so an item whose answers split is scored as
if its workers had merely been unlucky on an average item, and the band between 0.6 and 0.9
came out 3-9 points too sure on crowds with planted difficulty. Here each item gets a
sharpness beta = exp(e), e ~ N(0, var), that tempers every matrix row it is answered with,
P(a | t, w, beta) = C_w[t, a]^beta / sum_a' C_w[t, a']^beta (beta = 1 is the fitted model,
beta -> 0 a guess; for one-coin this is GLAD's P(right) = sigmoid(ability * exp(easiness))
up to the guess it tends to). The spread is chosen by the marginal likelihood of the
answers (gold-free), each item's sharpness integrated over `QUADRATURE` Gauss-Hermite nodes,
and items are scored the same way. On a crowd with no difficulty the spread comes out at
none and the scores are the model's own, for the price of two evaluations on a sample.

Tempering only the odds of a right answer and keeping Dawid-Skene's error pattern as fitted
was tried (cal13d): identical for one-coin, and Dawid-Skene's band 0.7-1 point more
overconfident on the planted-difficulty crowds than with whole rows tempered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelwire.server.consolidation.base import BoolArray, FloatArray, IntArray, Judgments
from labelwire.server.consolidation.shrinkage import fitted_strength, golden_log_max

QUADRATURE = 7
"""Gauss-Hermite nodes over an item's log sharpness."""
SPREAD_RANGE = (0.01, 4.0)
"""The variances of log sharpness searched (golden section on their log)."""
SPREAD_STEPS = 10
"""Golden-section steps of the search."""
SPREAD_ITEMS = 5_000
"""Items the spread's likelihood is evaluated on (every k-th item of a larger job)."""
MIN_ITEMS = 200
"""Items with two answers or more the sample needs before a spread is fitted: on fewer, the
marginal likelihood's peak is noise."""
NO_SPREAD = 1e-3
"""The variance compared with the search's floor first: when the answers are no more probable at
the floor than here, the spread is taken as none (a sharpness within 10% of 1 either way) and
the scores are left as they are, for the price of two evaluations."""


def _nodes(var: float) -> tuple[FloatArray, FloatArray]:
    """Sharpness at each node and the node's log weight."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE)
    return np.exp(np.sqrt(var) * nodes), np.log(weights / weights.sum())


def _by_node(var: float, own: FloatArray, log_rows: FloatArray, table: _Table) -> FloatArray:
    """log p(item's answers, node | class) as [node, class, item] (the class prior left out).

    `own` is each item's log-likelihood of its answers under each class at sharpness 1,
    [class, item]; `log_rows` the workers' log matrices, [worker, row, answer], one row per
    class, or a single row shared by every class when the normaliser does not depend on the
    class (one-coin: the right answer's probability first, then the wrong ones'). At
    sharpness beta an answer's log-probability is beta times its log at 1 minus the log of
    its row's normaliser, sum_a C[t, a]^beta, summed over the item's judgments; the sum over
    answers is taken answer-major (K element-wise passes: numpy reduces a narrow last axis an
    order of magnitude slower)."""
    sharpness, log_weight = _nodes(var)
    by_answer = np.ascontiguousarray(np.moveaxis(log_rows, 2, 0))
    top = np.maximum.reduce(by_answer, axis=0)
    shifted = by_answer - top
    out = np.empty((QUADRATURE, *own.shape))
    for q, beta in enumerate(sharpness):
        normaliser = beta * top + np.log(np.add.reduce(np.exp(beta * shifted), axis=0))
        out[q] = beta * own + log_weight[q]
        out[q] -= np.stack(
            [
                np.bincount(table.items, weights=row.take(table.workers), minlength=table.n_items)
                for row in np.ascontiguousarray(normaliser.T)
            ]
        )
    return out


@dataclass(frozen=True)
class _Table:
    """The judgments the nodes are summed over: the job's, or every k-th item's."""

    items: IntArray
    workers: IntArray
    answers: IntArray
    n_items: int

    @classmethod
    def of(cls, j: Judgments, rows: IntArray | None = None, stride: int = 1) -> _Table:
        if rows is None:
            return cls(j.items, j.workers, j.answers, j.n_items)
        return cls(j.items[rows] // stride, j.workers[rows], j.answers[rows], -(-j.n_items // stride))


def integrate_difficulty(
    judgments: Judgments,
    own: FloatArray,
    log_rows: FloatArray,
    log_priors: FloatArray,
    has_votes: BoolArray,
    var: float | None = None,
) -> tuple[FloatArray, float]:
    """The items' log joint [class, item] with their sharpness integrated out, and the
    variance of log sharpness: `var`, or when None the one of greatest marginal likelihood
    (0 when that is next to none, and `own` is returned as is)."""
    j = judgments
    if var is None:
        var = fitted_spread(j, own, log_rows, log_priors, has_votes)
    if not var:
        return log_priors + own, 0.0
    by_node = _by_node(var, own, log_rows, _Table.of(j))
    return log_priors + np.logaddexp.reduce(by_node, axis=0), var


def fitted_spread(
    judgments: Judgments, own: FloatArray, log_rows: FloatArray, log_priors: FloatArray, has_votes: BoolArray
) -> float:
    """The variance of log sharpness under which the answers of every k-th item (at most
    `SPREAD_ITEMS`) are most probable, each item's sharpness integrated out."""
    sample = _sample(judgments)
    if sample is None:
        return 0.0
    table, stride = sample
    return _spread(table, own[:, ::stride], log_rows, log_priors, has_votes[::stride])


def _sample(j: Judgments) -> tuple[_Table, int] | None:
    """Every k-th item's judgments (at most `SPREAD_ITEMS` items) and k; None when fewer than
    `MIN_ITEMS` of them have two answers. The judgments must be in item order
    (`Judgments.sorted_by_item`, as EM keeps them): the rows are found by bisection, not by a
    pass over every judgment."""
    stride = -(-j.n_items // SPREAD_ITEMS)
    picked = np.arange(0, j.n_items, stride)
    start = np.searchsorted(j.items, picked)
    counts = np.searchsorted(j.items, picked, side="right") - start
    if np.count_nonzero(counts >= 2) < MIN_ITEMS:
        return None
    first = np.cumsum(counts) - counts
    rows = np.arange(int(counts.sum())) + np.repeat(start - first, counts)
    return _Table.of(j, rows, stride), stride


def _spread(
    table: _Table, own: FloatArray, log_rows: FloatArray, log_priors: FloatArray, has_votes: BoolArray
) -> float:
    """`fitted_spread` on the sample's own table: 0 after two evaluations when the answers are
    no more probable at the search's floor than at `NO_SPREAD`, else golden section."""

    def evidence(log_var: float) -> float:
        by_node = _by_node(float(np.exp(log_var)), own, log_rows, table)
        by_node += log_priors[None]
        total = np.logaddexp.reduce(by_node.reshape(-1, table.n_items), axis=0)
        return float(total[has_votes].sum())

    low, high = np.log(SPREAD_RANGE[0]), np.log(SPREAD_RANGE[1])
    if evidence(float(low)) <= evidence(float(np.log(NO_SPREAD))):
        return 0.0
    return golden_log_max(evidence, float(low), float(high), SPREAD_STEPS)


def one_coin_spread(
    judgments: Judgments, soft: FloatArray, log_priors: FloatArray, has_votes: BoolArray
) -> float:
    """`fitted_spread` under the one-coin view of the posteriors `soft`: each worker one
    accuracy, shrunk towards the pool's by beta-binomial evidence and held out per judgment,
    errors spread evenly. Dawid-Skene fits its spread this way: under its own matrices the
    marginal likelihood peaks at about two thirds of the spread one-coin finds on the same crowd
    (0.07 against 0.11 on `quality.py`'s `difficulty_1.0`, seed 11) and its band stayed 3
    points too sure (2.6-3.0 pooled); with this one, 1.8-2.0. The accuracies are counted over
    every judgment, the held-out scores only over the sample's."""
    j = judgments
    sample = _sample(j)
    if sample is None:
        return 0.0
    table, stride = sample
    k = j.n_classes
    right = soft.ravel()[j.class_cells()]
    answered = np.bincount(j.workers, minlength=j.n_workers).astype(np.float64)
    correct = np.bincount(j.workers, weights=right, minlength=j.n_workers)
    pool = float(np.clip(correct.sum() / max(answered.sum(), 1.0), 1e-6, 1 - 1e-6))
    counts = np.stack([correct, np.maximum(answered - correct, 0.0)], axis=-1)
    strength = fitted_strength(counts, np.broadcast_to(np.array([pool, 1 - pool]), counts.shape))
    w = table.workers
    cells = table.answers * table.n_items + table.items
    own_right = soft[:, ::stride].ravel()[cells]
    skill = (correct[w] - own_right + strength * pool) / (answered[w] - 1 + strength)
    skill = np.clip(skill, 1e-6, 1 - 1e-6)
    log_wrong = np.log((1 - skill) / max(k - 1, 1))
    own = np.asarray(
        np.bincount(cells, weights=np.log(skill) - log_wrong, minlength=k * table.n_items).reshape(k, -1)
        + np.bincount(table.items, weights=log_wrong, minlength=table.n_items),
        dtype=np.float64,
    )
    whole = np.clip((correct + strength * pool) / (answered + strength), 1e-6, 1 - 1e-6)
    log_rows = np.empty((j.n_workers, 1, k))
    log_rows[:, 0, 0] = np.log(whole)
    log_rows[:, 0, 1:] = np.log((1 - whole) / max(k - 1, 1))[:, None]
    return _spread(table, own, log_rows, log_priors, has_votes[::stride])
