"""How strongly to shrink each worker towards the crowd, chosen by the crowd itself.

A worker's confusion row (or accuracy) is smoothed with `strength` pseudo-answers drawn
from a prior. A fixed strength is right for one spread of worker skills only: too weak
and a worker's few hundred answers overfit, which makes every posterior built on them
too sure; too strong and good workers are dragged to the average. Empirical Bayes picks
the strength under which the workers' answer counts are most probable: the
Dirichlet-multinomial marginal likelihood, maximised over a log-spaced search.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labelwire.server.consolidation.base import FloatArray

_HALF_LOG_TWO_PI = 0.5 * np.log(2 * np.pi)


def log_gamma(x: FloatArray) -> FloatArray:
    """log Γ(x) for positive x, element-wise (numpy has no vectorised lgamma).

    Shifts every argument below 8 above it by the recurrence Γ(x+1) = xΓ(x), then uses
    Stirling's series, accurate to about 1e-10 there. The shift's factors are
    multiplied (at most 8 of them, each below 8) and their log taken once, on the
    small arguments only: empirical Bayes evaluates this a few dozen times per fit
    over every worker's confusion cells. The copy is C-ordered so that the shift, written
    through a flat view, reaches it even when `x` is a transposed view (a non-contiguous
    copy's flat view would be another copy, and the shift lost).
    """
    y = np.array(x, dtype=np.float64, order="C")
    flat = y.reshape(-1)
    shift = np.zeros_like(flat)
    small = np.flatnonzero(flat < 8.0)
    if small.size:
        low = flat[small]
        product = np.ones_like(low)
        for _ in range(8):
            below = low < 8.0
            if not below.any():
                break
            product *= np.where(below, low, 1.0)
            low += below
        flat[small] = low
        shift[small] = np.log(product)
    z = 1.0 / (y * y)
    series = (1 / 12 - z * (1 / 360 - z * (1 / 1260 - z / 1680))) / y
    return np.asarray(
        (y - 0.5) * np.log(y) - y + _HALF_LOG_TWO_PI + series - shift.reshape(y.shape), dtype=np.float64
    )


def dirichlet_log_evidence(strength: float, counts: FloatArray, mean: FloatArray) -> float:
    """Sum over rows of log p(counts | Dirichlet(strength * mean)), multinomial factors left out
    (they do not depend on the strength). `counts` and `mean` are [..., K], `mean` rows sum to 1."""
    k = counts.shape[-1]
    return _evidence(
        strength, counts.reshape(-1, k), mean.reshape(-1, k), *_distinct_rows(mean.reshape(-1, k))
    )


def _distinct_rows(mean: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The distinct rows of the prior and how many rows use each: every worker whose skill
    the caller did not give shares the pooled matrix's K rows. Rows are told apart by one
    number each (sorting numbers is far quicker than sorting rows), checked exactly, with
    the row sort kept for the case two rows share that number."""
    key = mean @ (1.0 + np.arange(mean.shape[-1]) / np.pi)
    _, first, which, uses = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    if not np.array_equal(mean[first][which], mean):
        rows, uses = np.unique(mean, axis=0, return_counts=True)
        return np.asarray(rows, dtype=np.float64), uses.astype(np.float64)
    return np.asarray(mean[first], dtype=np.float64), uses.astype(np.float64)


def _evidence(
    strength: float, counts: FloatArray, mean: FloatArray, rows: FloatArray, uses: FloatArray
) -> float:
    """`dirichlet_log_evidence` over [rows, K] tables, the terms that repeat taken once:
    log Γ(strength) for every row, and log Γ(strength * mean) for each distinct row."""
    totals = counts.sum(axis=-1)
    return float(
        totals.size * log_gamma(np.array([strength]))[0]
        - log_gamma(strength + totals).sum()
        + log_gamma(strength * mean + counts).sum()
        - uses @ log_gamma(strength * rows).sum(axis=-1)
    )


def fitted_strength(
    counts: FloatArray, mean: FloatArray, *, low: float = 1.0, high: float = 200.0, steps: int = 14
) -> float:
    """The pseudo-answer count maximising the Dirichlet-multinomial evidence of `counts`,
    by golden-section search on log strength between `low` and `high` (the evidence is
    unimodal in it for the counts a crowd produces)."""
    answered = counts.sum(axis=-1) > 0
    counts, mean = counts[answered], np.maximum(mean[answered], 1e-9)
    if not counts.size:
        return float(np.sqrt(low * high))
    shared = _distinct_rows(mean)

    def evidence(log_strength: float) -> float:
        return _evidence(float(np.exp(log_strength)), counts, mean, *shared)

    return golden_log_max(evidence, float(np.log(low)), float(np.log(high)), steps)


def golden_log_max(evidence: Callable[[float], float], a: float, b: float, steps: int) -> float:
    """The value whose log maximises `evidence` on [a, b] (logs), by golden-section search:
    the evidences these fits climb are smooth and single-peaked in the log, and each
    evaluation is a pass over the data, so few evaluations beat a bracketing library call."""
    ratio = (np.sqrt(5.0) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = evidence(c), evidence(d)
    for _ in range(steps):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = evidence(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = evidence(d)
    return float(np.exp((a + b) / 2))
