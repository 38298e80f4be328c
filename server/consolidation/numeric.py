"""Numbers and key points: median centre, MAD spread, outliers flagged.

The mean is wrecked by one worker who typed 1000 for 10.0 or clicked the wrong
eye; the median is not, and the median absolute deviation measures the spread
the same robust way. A key point is a vector: its centre is the coordinate-wise
median and its deviation the Euclidean distance to that centre.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import BoolArray, FloatArray, IntArray, indexes, size_of

MAD_TO_SIGMA = 1.4826
"""Scales a MAD to the standard deviation of a normal distribution."""


def grouped_median(groups: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Median of `values` within each group (NaN for an empty group), by one sort."""
    order = np.lexsort((values, groups))
    ordered = values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lower = starts + np.maximum(counts - 1, 0) // 2
    upper = starts + counts // 2
    out = np.full(n_groups, np.nan)
    out[has] = 0.5 * (ordered[lower[has]] + ordered[np.minimum(upper[has], max(ordered.size - 1, 0))])
    return out


@dataclass
class NumericResult:
    """Per item: `centre` (shape (n_items,) or (n_items, d)), `spread` (the MAD,
    or median distance to the centre for points), `n_values`; per judgment:
    `deviation` in units of the item's robust sigma and `outliers`.
    """

    centre: FloatArray
    spread: FloatArray
    n_values: IntArray
    deviation: FloatArray
    outliers: BoolArray


class NumericMethod(ABC):
    """The one calling convention of numbers and key points: `fit(items, values, n_items=None)`,
    one value (or point) per judgment, answering with a `NumericResult`."""

    @abstractmethod
    def fit(
        self, items: npt.ArrayLike, values: npt.ArrayLike, n_items: int | None = None
    ) -> NumericResult: ...


class RobustCentre(NumericMethod):
    """Flags a value whose distance from the median exceeds `threshold` robust sigmas.

    Model: an item's answers scatter around its true value, a few far off; the centre is
    the median (per coordinate for points) and the spread the median absolute deviation,
    neither moved by a minority of wild answers. Hampel (1974), "The influence curve and
    its role in robust estimation", JASA 69(346); the cut at a few MADs as recommended by
    Leys, Ley, Klein, Bernard & Licata (2013), "Detecting outliers: do not use standard
    deviation around the mean, use absolute deviation around the median", Journal of
    Experimental Social Psychology 49(4).

    The robust sigma is 1.4826 x MAD, floored at `min_spread` so that three
    workers typing exactly 10 do not turn a fourth typing 10.01 into an outlier.
    With fewer than three values nothing is flagged: two disagreeing values give
    no way to tell which one is off.

    Example (four workers type a number, one slips a digit):

    >>> from labelwire.server.consolidation import RobustCentre
    >>> result = RobustCentre().fit([0, 0, 0, 0], [10.0, 11.0, 10.5, 105.0])
    >>> float(result.centre[0]), result.outliers.tolist()
    (10.75, [False, False, False, True])
    """

    def __init__(self, threshold: float = 3.0, min_spread: float = 0.0) -> None:
        self.threshold = threshold
        self.min_spread = min_spread

    def fit(self, items: npt.ArrayLike, values: npt.ArrayLike, n_items: int | None = None) -> NumericResult:
        """`values` is (n,) for numbers or (n, d) for key points."""
        it = indexes(items)
        vals = np.asarray(values, dtype=np.float64)
        points = vals[:, None] if vals.ndim == 1 else vals.reshape(vals.shape[0], -1)
        if points.shape[0] != it.size:
            raise ValueError("values must have one row per item entry")
        n = size_of(n_items, it)
        centre = np.stack([grouped_median(it, points[:, d], n) for d in range(points.shape[1])], axis=1)
        distance = np.sqrt(((points - centre[it]) ** 2).sum(axis=1))
        spread = grouped_median(it, distance, n)
        counts = np.bincount(it, minlength=n)
        sigma = np.maximum(MAD_TO_SIGMA * np.nan_to_num(spread), self.min_spread)[it]
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = np.where(
                sigma > 0, distance / np.where(sigma > 0, sigma, 1.0), np.where(distance > 0, np.inf, 0.0)
            )
        outliers = (deviation > self.threshold) & (counts[it] >= 3)
        return NumericResult(
            centre=centre[:, 0] if vals.ndim == 1 else centre,
            spread=spread,
            n_values=counts,
            deviation=deviation,
            outliers=outliers,
        )


@dataclass
class WorkerOutliers:
    """Per worker: `checked`, its values on items with enough values to flag one (three);
    `flagged`, how many of those were outliers; `rate`, the outlier rate shrunk towards the
    pool's; and `drifting`, whether that rate is at least `factor` times the pool's."""

    checked: IntArray
    flagged: IntArray
    rate: FloatArray
    pool_rate: float
    drifting: BoolArray


def worker_outliers(
    result: NumericResult,
    items: npt.ArrayLike,
    workers: npt.ArrayLike,
    n_workers: int,
    *,
    strength: float = 20.0,
    factor: float = 3.0,
) -> WorkerOutliers:
    """Which workers drift: each worker's share of outlying values, shrunk towards the pool's
    share with `strength` pseudo-values (a Beta prior) so that a worker flagged once in two
    values is not called a drifter, while one flagged in a tenth of two hundred is.
    `items` and `workers` are the arrays `result` was fitted from, one entry per value."""
    it, wk = indexes(items), indexes(workers)
    if wk.shape != it.shape or it.shape != result.outliers.shape:
        raise ValueError("items and workers must have one entry per value the result was fitted from")
    checkable = (result.n_values[it] >= 3).astype(np.float64)
    checked = np.bincount(wk, weights=checkable, minlength=n_workers)
    flagged = np.bincount(wk, weights=result.outliers * checkable, minlength=n_workers)
    pool = float(flagged.sum() / checked.sum()) if checked.sum() else 0.0
    rate = (flagged + strength * pool) / (checked + strength)
    return WorkerOutliers(
        checked=checked.astype(np.int64),
        flagged=flagged.astype(np.int64),
        rate=np.asarray(rate, dtype=np.float64),
        pool_rate=pool,
        drifting=np.asarray((rate >= factor * pool) & (checked > 0) & (pool > 0), dtype=np.bool_),
    )
