"""How much workers agree, as a whole and one by one.

Chance-corrected coefficients answer "are these instructions clear enough?";
the dissenter histogram answers the practical question "on how many items did
everyone agree, all but one, all but two?", which is what a project owner reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import FloatArray, IntArray, Judgments
from labelwire.server.consolidation.majority import MajorityVote, agreement_with


def dissenters(judgments: Judgments, labels: IntArray | None = None) -> IntArray:
    """Per item, how many judgments differ from the consolidated label (-1 for no judgment).

    Without labels the majority vote is the reference.
    """
    counts = judgments.counts()
    if labels is None:
        labels = MajorityVote().fit(judgments).labels
    n = counts.sum(axis=1)
    agreeing = counts[np.arange(judgments.n_items), np.maximum(labels, 0)]
    return np.where((n > 0) & (labels >= 0), n - agreeing, -1).astype(np.int64)


def dissent_histogram(judgments: Judgments, labels: IntArray | None = None) -> IntArray:
    """`histogram[d]` is the number of items with exactly d dissenting judgments."""
    d = dissenters(judgments, labels)
    return np.bincount(d[d >= 0]).astype(np.int64)


def fleiss_kappa_from_counts(counts: npt.ArrayLike) -> float:
    """Fleiss' kappa from an items x classes table of rating counts.

    Items may have different numbers of raters (each item's agreement is computed
    over its own pairs); items with fewer than two ratings carry no pair and are
    left out.
    """
    table = np.asarray(counts, dtype=np.float64)
    n = table.sum(axis=1)
    rated = n >= 2
    table, n = table[rated], n[rated]
    if not table.size:
        return float("nan")
    per_item = ((table**2).sum(axis=1) - n) / (n * (n - 1))
    p_class = table.sum(axis=0) / n.sum()
    expected = float((p_class**2).sum())
    if expected >= 1.0:
        return float("nan")
    return float((per_item.mean() - expected) / (1 - expected))


def fleiss_kappa(judgments: Judgments) -> float:
    return fleiss_kappa_from_counts(judgments.counts())


def krippendorff_alpha_nominal_from_counts(counts: npt.ArrayLike) -> float:
    """Krippendorff's alpha for nominal data from a units x values table of counts.

    Uses the coincidence matrix: within each unit with m >= 2 values every ordered
    pair of values counts 1 / (m - 1). For nominal data only the off-diagonal
    total matters: alpha = 1 - (n - 1) * sum_u (m_u^2 - sum_c n_uc^2) / (m_u - 1)
    / (n^2 - sum_c n_c^2).
    """
    table = np.asarray(counts, dtype=np.float64)
    m = table.sum(axis=1)
    pairable = m >= 2
    table, m = table[pairable], m[pairable]
    n_c = table.sum(axis=0)
    n = n_c.sum()
    expected = n**2 - (n_c**2).sum()
    if not table.size or expected <= 0:
        return float("nan")
    observed = ((m**2 - (table**2).sum(axis=1)) / (m - 1)).sum()
    return float(1.0 - (n - 1) * observed / expected)


def krippendorff_alpha_nominal(judgments: Judgments) -> float:
    return krippendorff_alpha_nominal_from_counts(judgments.counts())


@dataclass
class AgreementReport:
    """`dissent_histogram[d]`: items with d dissenters; `worker_agreement[w]`: share of
    the worker's answers equal to the consolidated label (NaN with none)."""

    dissent_histogram: IntArray
    fleiss_kappa: float
    krippendorff_alpha: float
    worker_agreement: FloatArray


def agreement_report(judgments: Judgments, labels: IntArray | None = None) -> AgreementReport:
    if labels is None:
        labels = MajorityVote().fit(judgments).labels
    counts = judgments.counts()
    return AgreementReport(
        dissent_histogram=dissent_histogram(judgments, labels),
        fleiss_kappa=fleiss_kappa_from_counts(counts),
        krippendorff_alpha=krippendorff_alpha_nominal_from_counts(counts),
        worker_agreement=agreement_with(judgments, labels),
    )
