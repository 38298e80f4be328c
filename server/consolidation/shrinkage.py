"""How strongly to shrink each worker towards the crowd, chosen by the crowd itself.

A worker's confusion row (or accuracy) is smoothed with `strength` pseudo-answers drawn
from a prior. A fixed strength is right for one spread of worker skills only: too weak
and a worker's few hundred answers overfit, which makes every posterior built on them
too sure; too strong and good workers are dragged to the average. Empirical Bayes picks
the strength under which the workers' answer counts are most probable: the
Dirichlet-multinomial marginal likelihood, maximised over a log-spaced search.
"""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation.base import FloatArray

_HALF_LOG_TWO_PI = 0.5 * np.log(2 * np.pi)


def log_gamma(x: FloatArray) -> FloatArray:
    """log Γ(x) for positive x, element-wise (numpy has no vectorised lgamma).

    Shifts every argument above 8 by the recurrence Γ(x+1) = xΓ(x), then uses
    Stirling's series, accurate to about 1e-10 there.
    """
    y = np.asarray(x, dtype=np.float64).copy()
    shift = np.zeros_like(y)
    for _ in range(8):
        small = y < 8.0
        if not small.any():
            break
        shift += np.log(np.where(small, y, 1.0))
        y += small
    z = 1.0 / (y * y)
    series = (1 / 12 - z * (1 / 360 - z * (1 / 1260 - z / 1680))) / y
    return np.asarray((y - 0.5) * np.log(y) - y + _HALF_LOG_TWO_PI + series - shift, dtype=np.float64)


def dirichlet_log_evidence(strength: float, counts: FloatArray, mean: FloatArray) -> float:
    """Sum over rows of log p(counts | Dirichlet(strength * mean)), multinomial factors left out
    (they do not depend on the strength). `counts` and `mean` are [..., K], `mean` rows sum to 1."""
    alpha = strength * mean
    totals = counts.sum(axis=-1)
    return float(
        (log_gamma(np.full_like(totals, strength)) - log_gamma(strength + totals)).sum()
        + (log_gamma(alpha + counts) - log_gamma(alpha)).sum()
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
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5.0) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc = dirichlet_log_evidence(float(np.exp(c)), counts, mean)
    fd = dirichlet_log_evidence(float(np.exp(d)), counts, mean)
    for _ in range(steps):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = dirichlet_log_evidence(float(np.exp(c)), counts, mean)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = dirichlet_log_evidence(float(np.exp(d)), counts, mean)
    return float(np.exp((a + b) / 2))
