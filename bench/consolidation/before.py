"""The majority votes as they were before ties went to the class prior and gold met agreement
(commit e0126f1), kept so the benchmark measures before and after in the same run."""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation.base import (
    BoolArray,
    ClassificationResult,
    Classifier,
    FloatArray,
    Gold,
    IntArray,
    Judgments,
    clamp_gold,
    gold_arrays,
    log_normalise,
    normalise_rows,
    skill_prior,
)


def decide(
    posteriors: FloatArray, has_votes: BoolArray, *, tie_tol: float = 1e-9
) -> tuple[IntArray, FloatArray, BoolArray]:
    """Picks each item's label from its posterior, lowest index on a tie.

    Works on a class-major copy: reducing a narrow last axis is an order of
    magnitude slower in numpy than K element-wise passes over long rows.
    """
    by_class = np.ascontiguousarray(posteriors.T)
    top = np.maximum.reduce(by_class, axis=0) if by_class.size else np.zeros(posteriors.shape[0])
    labels = np.zeros(posteriors.shape[0], dtype=np.int64)
    near = np.zeros(posteriors.shape[0], dtype=np.int64)
    for k in range(by_class.shape[0] - 1, -1, -1):
        labels[by_class[k] == top] = k
        near += by_class[k] >= top - tie_tol
    ties = (near > 1) & has_votes
    labels = np.where(has_votes, labels, -1)
    return labels, np.where(has_votes, top, 0.0), ties


class MajorityVote(Classifier):
    """The most frequent answer wins; its share of the votes is the confidence.

    The baseline every other method must beat, and what an item gets the moment
    its last judgment arrives. Worker skill is agreement with the majority. The
    share of votes is not a calibrated probability: three agreeing votes give 1.0
    whoever cast them.

    Example:

    >>> from labelwire.server.consolidation import Judgments, MajorityVote
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = MajorityVote().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.67, 0.67])
    """

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        counts = judgments.counts()
        has_votes = counts.sum(axis=1) > 0
        posteriors = normalise_rows(counts)
        gold_items, gold_answers = gold_arrays(gold, judgments.n_items, judgments.n_classes)
        if gold_items.size:
            clamp_gold(posteriors.T, gold_items, gold_answers)
            has_votes[gold_items] = True
        labels, confidence, ties = decide(posteriors, has_votes)
        return ClassificationResult(
            labels=labels,
            posteriors=posteriors,
            confidence=confidence,
            ties=ties,
            worker_skill=agreement_with(judgments, labels),
        )


class WeightedMajorityVote(Classifier):
    """Votes weighted by each worker's accuracy (on gold, or a prior estimate).

    Accuracy measured on gold is shrunk towards the worker's prior skill (or
    `default_skill`) with `gold_smoothing` pseudo-answers, so one lucky gold answer
    does not make a 100% worker. Wawa-style, a worker with neither gets
    `default_skill` or, with `unknown_skill="majority"`, their (equally shrunk)
    agreement with the plain majority vote.
    Weights are log-odds of accuracy over chance, so a worker at chance counts for
    nothing and a worker below chance is clipped to a small weight rather than
    inverted. With those weights the posterior is the softmax of the weighted
    votes: the Bayes posterior when the skills are right and errors are spread
    evenly, which is what makes the confidence a probability.

    Weights are the log-odds rule of Nitzan & Paroush (1982), "Optimal decision rules in
    uncertain dichotomous choice situations", International Economic Review 23(2).

    Example:

    >>> from labelwire.server.consolidation import Judgments, WeightedMajorityVote
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = WeightedMajorityVote().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.7, 0.7])
    """

    def __init__(
        self,
        default_skill: float = 0.7,
        min_weight: float = 1e-3,
        *,
        unknown_skill: str = "default",
        gold_smoothing: float = 2.0,
    ) -> None:
        if unknown_skill not in ("default", "majority"):
            raise ValueError(f"unknown_skill must be 'default' or 'majority', got {unknown_skill!r}")
        self.default_skill = default_skill
        self.min_weight = min_weight
        self.unknown_skill = unknown_skill
        self.gold_smoothing = gold_smoothing

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        k = max(judgments.n_classes, 2)
        skill, known = skill_prior(worker_skill, judgments.n_workers)
        gold_items, gold_answers = gold_arrays(gold, judgments.n_items, judgments.n_classes)
        if gold_items.size:
            prior = np.where(known, skill, self.default_skill)
            on_gold = gold_accuracy(judgments, gold_items, gold_answers, prior, self.gold_smoothing)
            skill = np.where(np.isnan(on_gold), skill, on_gold)
            known |= ~np.isnan(on_gold)
        if self.unknown_skill == "majority":
            labels, _, _ = decide(normalise_rows(judgments.counts()), judgments.has_votes())
            voted = np.flatnonzero(labels >= 0)
            fallback = gold_accuracy(judgments, voted, labels[voted], self.default_skill, self.gold_smoothing)
            skill = np.where(known | np.isnan(fallback), skill, fallback)
            known |= ~np.isnan(fallback)
        skill = np.clip(np.where(known, skill, self.default_skill), 1e-6, 1 - 1e-6)
        weight = np.maximum(np.log(skill * (k - 1) / (1 - skill)), self.min_weight)

        soft, _ = log_normalise(judgments.class_counts(weight[judgments.workers]))
        has_votes = judgments.has_votes()
        posteriors = np.where(has_votes[:, None], soft.T, 1.0 / judgments.n_classes)
        if gold_items.size:
            clamp_gold(posteriors.T, gold_items, gold_answers)
            has_votes[gold_items] = True
        labels, confidence, ties = decide(posteriors, has_votes)
        return ClassificationResult(
            labels=labels, posteriors=posteriors, confidence=confidence, ties=ties, worker_skill=skill
        )


def gold_accuracy(
    judgments: Judgments,
    gold_items: IntArray,
    gold_answers: IntArray,
    prior: float | FloatArray,
    smoothing: float,
) -> FloatArray:
    """Each worker's accuracy on known items, shrunk towards `prior` (NaN for a worker who saw none)."""
    truth = np.full(judgments.n_items, -1, dtype=np.int64)
    truth[gold_items] = gold_answers
    seen = truth[judgments.items] >= 0
    right = (truth[judgments.items] == judgments.answers).astype(np.float64)
    hits = np.bincount(judgments.workers, weights=right, minlength=judgments.n_workers)
    total = np.bincount(judgments.workers, weights=seen.astype(np.float64), minlength=judgments.n_workers)
    return np.where(total > 0, (hits + smoothing * prior) / (total + smoothing), np.nan)


def agreement_with(judgments: Judgments, labels: IntArray) -> FloatArray:
    """Each worker's share of answers equal to the chosen label (NaN with none)."""
    agree = (labels[judgments.items] == judgments.answers).astype(np.float64)
    hits = np.bincount(judgments.workers, weights=agree, minlength=judgments.n_workers)
    total = np.bincount(judgments.workers, minlength=judgments.n_workers).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / np.where(total > 0, total, 1.0), np.nan)
