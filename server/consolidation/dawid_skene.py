"""Dawid-Skene: each worker's errors as a confusion matrix, learned by EM.

Two members of the family: the full model (one K x K matrix per worker), which
captures systematic confusions and even puts a class-swapping worker's answers to
use, and the one-coin model (one accuracy per worker), which needs far fewer
answers per worker to estimate and is the safer choice when workers are sparse.
"""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation.base import (
    BoolArray,
    ClassificationResult,
    FloatArray,
    Gold,
    IntArray,
    Judgments,
    clamp_gold,
    class_priors,
    finish,
    gold_and_votes,
    gold_log_likelihood,
    log_normalise,
    normalise_rows,
    skill_prior,
    vote_shares,
)


class DawidSkene:
    """Full confusion-matrix Dawid-Skene, computed in log space.

    Initialised from the majority vote. Each worker's matrix is smoothed with
    `smoothing` pseudo-answers per row drawn from a prior matrix: the pooled matrix
    of all workers, or the caller's prior accuracy for that worker. A worker with
    three answers therefore looks like an average worker nudged by those three,
    not like a degenerate matrix of zeros and ones that would overrule everyone.
    EM stops when the log-likelihood gains less than `tol` per judgment.
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-5, smoothing: float = 5.0) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        judgments = judgments.sorted_by_item()
        k, n_workers = judgments.n_classes, judgments.n_workers
        gold_items, gold_answers, has_votes = gold_and_votes(judgments, gold)
        prior_skill, skill_known = skill_prior(worker_skill, n_workers)
        codes = judgments.workers * k + judgments.answers
        code_totals = np.bincount(codes, minlength=n_workers * k).astype(np.float64)

        soft = clamp_gold(vote_shares(judgments), gold_items, gold_answers)
        history: list[float] = []
        converged = False
        for _ in range(self.n_iter):
            confusion = self._confusion(soft, judgments, codes, code_totals, prior_skill, skill_known)
            priors = class_priors(soft, has_votes)
            log_confusion = np.log(confusion).transpose(1, 0, 2).reshape(k, n_workers * k)
            log_joint = np.log(priors)[:, None] + judgments.per_item(log_confusion, codes)
            soft, evidence = log_normalise(log_joint)
            history.append(gold_log_likelihood(log_joint, evidence, gold_items, gold_answers))
            clamp_gold(soft, gold_items, gold_answers)
            if len(history) > 1 and history[-1] - history[-2] < self.tol * max(len(judgments), 1):
                converged = True
                break

        confusion = self._confusion(soft, judgments, codes, code_totals, prior_skill, skill_known)
        priors = class_priors(soft, has_votes)
        skill = np.einsum("t,wtt->w", priors, confusion)
        answered = np.bincount(judgments.workers, minlength=n_workers) > 0
        return finish(
            soft,
            has_votes,
            np.where(answered, skill, np.nan),
            confusion=confusion,
            log_likelihood=history,
            n_iter=len(history),
            converged=converged,
            priors=priors,
        )

    def _confusion(
        self,
        soft: FloatArray,
        judgments: Judgments,
        codes: IntArray,
        code_totals: FloatArray,
        prior_skill: FloatArray,
        skill_known: BoolArray,
    ) -> FloatArray:
        """Smoothed confusion matrices, indexed [worker, truth, answer].

        Posteriors sum to one per item, so the last class's counts are the code totals
        minus the others': one weighted bincount saved per iteration.
        """
        k, n_workers = judgments.n_classes, judgments.n_workers
        per_code = [
            np.bincount(codes, weights=row.take(judgments.items), minlength=n_workers * k)
            for row in soft[:-1]
        ]
        per_code.append(np.maximum(code_totals - sum(per_code), 0.0))
        counts = np.stack(per_code).reshape(k, n_workers, k).transpose(1, 0, 2)
        prior = np.broadcast_to(normalise_rows(counts.sum(axis=0)), counts.shape).copy()
        if skill_known.any():
            p = prior_skill[skill_known][:, None, None]
            eye = np.eye(k)[None]
            prior[skill_known] = p * eye + (1 - p) / max(k - 1, 1) * (1 - eye)
        prior = np.maximum(prior, 1e-6)
        smoothed = counts + self.smoothing * prior
        return np.asarray(smoothed / smoothed.sum(axis=2, keepdims=True), dtype=np.float64)


class OneCoinDawidSkene:
    """Dawid-Skene with one accuracy per worker, errors spread evenly over other classes.

    Each worker's accuracy is smoothed towards the pooled accuracy (or the caller's
    prior) with `smoothing` pseudo-answers. A worker below chance gets negative
    weight, so their answer counts as evidence against the class they chose.
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-5, smoothing: float = 2.0) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        judgments = judgments.sorted_by_item()
        k, n_workers = judgments.n_classes, judgments.n_workers
        gold_items, gold_answers, has_votes = gold_and_votes(judgments, gold)
        prior_skill, skill_known = skill_prior(worker_skill, n_workers)
        flat = judgments.answers * judgments.n_items + judgments.items
        answered = np.bincount(judgments.workers, minlength=n_workers).astype(np.float64)

        soft = clamp_gold(vote_shares(judgments), gold_items, gold_answers)
        history: list[float] = []
        converged = False
        for _ in range(self.n_iter):
            skill = self._skill(soft, judgments, flat, answered, prior_skill, skill_known)
            priors = class_priors(soft, has_votes)
            log_wrong = np.log((1 - skill) / max(k - 1, 1))
            log_odds = np.log(skill) - log_wrong
            base = np.bincount(
                judgments.items, weights=log_wrong[judgments.workers], minlength=judgments.n_items
            )
            log_joint = np.log(priors)[:, None] + judgments.class_counts(log_odds[judgments.workers]) + base
            soft, evidence = log_normalise(log_joint)
            history.append(gold_log_likelihood(log_joint, evidence, gold_items, gold_answers))
            clamp_gold(soft, gold_items, gold_answers)
            if len(history) > 1 and history[-1] - history[-2] < self.tol * max(len(judgments), 1):
                converged = True
                break

        skill = self._skill(soft, judgments, flat, answered, prior_skill, skill_known)
        return finish(
            soft,
            has_votes,
            np.where(answered > 0, skill, np.nan),
            log_likelihood=history,
            n_iter=len(history),
            converged=converged,
            priors=class_priors(soft, has_votes),
        )

    def _skill(
        self,
        soft: FloatArray,
        judgments: Judgments,
        flat: IntArray,
        answered: FloatArray,
        prior_skill: FloatArray,
        skill_known: BoolArray,
    ) -> FloatArray:
        correct = np.bincount(judgments.workers, weights=soft.ravel()[flat], minlength=judgments.n_workers)
        pooled = correct.sum() / max(answered.sum(), 1.0)
        prior = np.where(skill_known, prior_skill, pooled)
        skill = (correct + self.smoothing * prior) / (answered + self.smoothing)
        return np.asarray(np.clip(skill, 1e-6, 1 - 1e-6), dtype=np.float64)
