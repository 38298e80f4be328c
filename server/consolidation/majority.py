"""Majority vote and its gold-weighted form.

Not EM, but the same set-up as the EM methods (`base.has_evidence`, `base.clamp_gold`,
`base.item_posteriors`, `base.decide`): the same items labelled, gold pinned the same
way, the same tie rule.
"""

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
    decide,
    gold_arrays,
    has_evidence,
    item_posteriors,
    log_normalise,
    normalise_rows,
    skill_prior,
)


class MajorityVote(Classifier):
    """The most frequent answer wins; its share of the votes is the confidence.

    The baseline every other method must beat, and what an item gets the moment
    its last judgment arrives. Worker skill is agreement with the majority. The
    share of votes is not a calibrated probability: three agreeing votes give 1.0
    whoever cast them. With `skill` the posteriors are instead those of the same
    votes cast by workers of that accuracy (errors spread evenly), a probability:
    one vote gives `skill`, two of two 0.84 over four classes at 0.7, the rule
    `server/files/exports.py` already states for majority-vote labels.

    A tie goes to the tied class with the higher prior: `class_priors` when given
    (for example the job's class frequencies, when one item is voted on its own),
    else the class frequencies of the votes in this fit. It is flagged in `ties`. With
    `skill` and `class_priors` a tied item's posteriors are also weighed by the prior
    (plus one per class, as counts): the server's vote on one item (`vote_classes`).

    Example:

    >>> from labelwire.server.consolidation import Judgments, MajorityVote
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = MajorityVote().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.67, 0.67])
    """

    def __init__(self, *, skill: float | None = None, class_priors: FloatArray | None = None) -> None:
        if skill is not None and not 0.0 < skill < 1.0:
            raise ValueError(f"skill must be strictly between 0 and 1, got {skill}")
        self.skill = skill
        self.class_priors = None if class_priors is None else np.asarray(class_priors, dtype=np.float64)

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        counts = judgments.counts()
        has_votes = counts.sum(axis=1) > 0
        priors = self.class_priors
        if priors is not None and priors.shape != (judgments.n_classes,):
            raise ValueError(f"class_priors must have one entry per class ({judgments.n_classes})")
        if priors is None:
            priors = counts.sum(axis=0)
        if self.skill is None:
            posteriors = normalise_rows(counts)
        else:
            k = max(judgments.n_classes, 2)
            weight = np.log(self.skill * (k - 1) / (1 - self.skill))
            soft, _ = log_normalise(weight * counts.T)
            posteriors = item_posteriors(soft, has_votes)
        gold_items, gold_answers = gold_arrays(gold, judgments.n_items, judgments.n_classes)
        if gold_items.size:
            clamp_gold(posteriors.T, gold_items, gold_answers)
            has_votes[gold_items] = True
        labels, confidence, ties = decide(posteriors, has_votes, priors=priors)
        if self.skill is not None and self.class_priors is not None and ties.any():
            # the prior that broke a tie weighs its posterior too: a tie the commonest class
            # wins is right more often than a coin among the tied (bench/consolidation/mv_quiz.py)
            weighed = posteriors[ties] * (np.maximum(self.class_priors, 0.0) + 1.0)
            posteriors[ties] = weighed / weighed.sum(axis=1, keepdims=True)
            confidence[ties] = posteriors[ties, labels[ties]]
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
        prior_skill, prior_known = skill_prior(worker_skill, judgments.n_workers)
        gold_items, gold_answers = gold_arrays(gold, judgments.n_items, judgments.n_classes)
        skill = self._first_skill(judgments, prior_skill, prior_known, gold_items, gold_answers)
        if gold_items.size:
            # Wawa measures agreement with the plain vote; gold alone makes a better first vote otherwise.
            first = np.full_like(skill, self.default_skill) if self.unknown_skill == "majority" else skill
            skill = self._with_agreement(judgments, gold_items, gold_answers, first, prior_skill, prior_known)
        weight = self._weights(skill, k)

        posteriors, has_votes = self._vote(judgments, weight, gold_items, gold_answers)
        labels, confidence, ties = decide(posteriors, has_votes)
        return ClassificationResult(
            labels=labels, posteriors=posteriors, confidence=confidence, ties=ties, worker_skill=skill
        )

    def _first_skill(
        self,
        judgments: Judgments,
        prior_skill: FloatArray,
        prior_known: BoolArray,
        gold_items: IntArray,
        gold_answers: IntArray,
    ) -> FloatArray:
        """Skill from gold alone (shrunk towards the prior), then the caller's prior, then,
        Wawa-style, agreement with the plain majority or `default_skill`."""
        skill, known = prior_skill.copy(), prior_known.copy()
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
        return np.asarray(
            np.clip(np.where(known, skill, self.default_skill), 1e-6, 1 - 1e-6), dtype=np.float64
        )

    def _weights(self, skill: FloatArray, k: int) -> FloatArray:
        return np.asarray(
            np.maximum(np.log(skill * (k - 1) / (1 - skill)), self.min_weight), dtype=np.float64
        )

    @staticmethod
    def _vote(
        judgments: Judgments, weight: FloatArray, gold_items: IntArray, gold_answers: IntArray
    ) -> tuple[FloatArray, BoolArray]:
        soft, _ = log_normalise(judgments.class_counts(weight[judgments.workers]))
        has_votes = has_evidence(judgments, gold_items)
        return item_posteriors(clamp_gold(soft, gold_items, gold_answers), has_votes), has_votes

    def _with_agreement(
        self,
        judgments: Judgments,
        gold_items: IntArray,
        gold_answers: IntArray,
        first: FloatArray,
        prior_skill: FloatArray,
        prior_known: BoolArray,
    ) -> FloatArray:
        """Each worker's accuracy as a Beta posterior over all of its answers, gold or not.

        The prior is the caller's skill (else `default_skill`) worth `gold_smoothing`
        answers; each answer on a gold item counts as right or wrong against the gold,
        each other answer as right or wrong against the vote weighted by the gold-only
        estimate `first`. A worker with one or two gold answers thus keeps the
        agreement evidence of its hundred other answers instead of trading it for
        those few: with a little gold the vote can only sharpen, not get worse.
        """
        posteriors, has_votes = self._vote(
            judgments, self._weights(first, max(judgments.n_classes, 2)), gold_items, gold_answers
        )
        labels, _, _ = decide(posteriors, has_votes)
        prior = np.where(prior_known, prior_skill, self.default_skill)
        hits = (labels[judgments.items] == judgments.answers).astype(np.float64)
        counted = (labels[judgments.items] >= 0).astype(np.float64)
        right = np.bincount(judgments.workers, weights=hits * counted, minlength=judgments.n_workers)
        seen = np.bincount(judgments.workers, weights=counted, minlength=judgments.n_workers)
        skill = (right + self.gold_smoothing * prior) / (seen + self.gold_smoothing)
        return np.asarray(np.clip(skill, 1e-6, 1 - 1e-6), dtype=np.float64)


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
