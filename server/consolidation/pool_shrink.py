"""Worker confusion matrices for labeling new answers between passes, trusted by evidence.

A job-level fit early in a job rests on a handful of answers per worker, most of them on
items nobody else judged (dynamic judgments start every item with one), where the item's
label is the worker's own answer and the worker looks right on all of them. Used as if
known, such matrices label items at the target confidence that later passes relabel: in
the simulated server on the hard crowd (`bench/consolidation/first_labels.py`) the labels
emitted in the first fifth of a job were 4.8 points less accurate than their final labels,
three quarters of issue 13's first − final gap.

Each worker's fitted matrix is therefore mixed with the pool's, a worker with `strength`
pseudo-answers at the pool's gold accuracy (errors spread evenly) against its answers in
the fit. The pool's accuracy comes from gold (quiz answers included), the one record a
fit on the job's own answers cannot inflate; a fit's average matrix can (measured: it
widened the early gap instead).
"""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation.base import FloatArray, IntArray, Judgments

POOL_STRENGTH = 20.0
"""Pseudo-answers at the pool's accuracy: 20 and 50 measured alike on the benchmark's crowds."""


def shrink_to_pool(
    confusion: FloatArray, answers: IntArray | FloatArray, pool_skill: float, strength: float = POOL_STRENGTH
) -> FloatArray:
    """`confusion` ([worker, truth, answer]) with each worker's matrix mixed with the pool's
    by its number of `answers` against `strength`."""
    pool = one_coin(np.array([pool_skill]), confusion.shape[-1])[0]
    n = np.asarray(answers, dtype=np.float64)
    weight = (n / (n + strength))[:, None, None]
    return np.asarray(weight * confusion + (1 - weight) * pool, dtype=np.float64)


def one_coin(skills: FloatArray, k: int) -> FloatArray:
    """Workers of the given accuracies as confusion matrices, errors spread evenly."""
    s = np.clip(np.asarray(skills, dtype=np.float64), 1e-3, 1 - 1e-3)
    matrices = np.repeat(((1 - s) / max(k - 1, 1))[:, None, None], k, axis=1).repeat(k, axis=2)
    matrices[:, np.arange(k), np.arange(k)] = s[:, None]
    return matrices


def item_posteriors(judgments: Judgments, confusion: FloatArray, priors: FloatArray) -> FloatArray:
    """Each item's posterior under given worker matrices and class priors (one E-step): how
    an item is labeled between passes, so a pass stores the same for its open items."""
    log_post = np.tile(np.log(np.maximum(priors, 1e-12)), (judgments.n_items, 1))
    likelihood = np.log(np.maximum(confusion[judgments.workers, :, judgments.answers], 1e-12))
    np.add.at(log_post, judgments.items, likelihood)
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    return np.asarray(post / post.sum(axis=1, keepdims=True), dtype=np.float64)
