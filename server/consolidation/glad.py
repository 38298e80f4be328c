"""GLAD: a worker's chance of being right depends on their ability and the item's difficulty."""

from __future__ import annotations

import numpy as np

from labelwire.server.consolidation.base import (
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
    skill_prior,
    vote_shares,
)


def _log_sigmoid(x: FloatArray) -> FloatArray:
    return -np.logaddexp(0.0, -x)


def _total(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float64)


class GLAD:
    """Whitehill et al. (2009): P(correct) = sigmoid(ability_w * exp(easiness_i)).

    Worth its cost when items differ in difficulty: a hard item's disagreement is
    not held against the workers, and an easy item's wrong answer is. A wrong
    answer is spread evenly over the other classes. The M-step takes
    `m_steps` diagonal Newton steps on the expected log-likelihood (a generalised
    EM), alternating abilities and easiness, each under a Gaussian prior so that
    items with one or two answers keep a finite difficulty.
    """

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        m_steps: int = 2,
        ability_prior: tuple[float, float] = (1.0, 1.0),
        easiness_prior: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.m_steps = m_steps
        self.ability_prior = ability_prior
        self.easiness_prior = easiness_prior

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        judgments = judgments.sorted_by_item()
        k, n_items, n_workers = judgments.n_classes, judgments.n_items, judgments.n_workers
        items, workers = judgments.items, judgments.workers
        gold_items, gold_answers, has_votes = gold_and_votes(judgments, gold)
        flat = judgments.answers * n_items + items
        log_others = np.log(max(k - 1, 1))

        ability = np.full(n_workers, self.ability_prior[0])
        prior_skill, skill_known = skill_prior(worker_skill, n_workers)
        if skill_known.any():
            # The ability at which an average item (easiness 0) is answered with the prior accuracy.
            ability[skill_known] = np.log(prior_skill[skill_known] / (1 - prior_skill[skill_known]))
        ability_mean = ability.copy()
        easiness = np.full(n_items, self.easiness_prior[0])

        soft = clamp_gold(vote_shares(judgments), gold_items, gold_answers)
        history: list[float] = []
        converged = False
        for _ in range(self.n_iter):
            ability, easiness = self._m_step(ability, ability_mean, easiness, soft.ravel()[flat], judgments)
            priors = class_priors(soft, has_votes)
            s = ability[workers] * np.exp(easiness[items])
            base = np.bincount(items, weights=_log_sigmoid(-s) - log_others, minlength=n_items)
            log_joint = np.log(priors)[:, None] + judgments.class_counts(s + log_others) + base
            soft, evidence = log_normalise(log_joint)
            history.append(gold_log_likelihood(log_joint, evidence, gold_items, gold_answers))
            clamp_gold(soft, gold_items, gold_answers)
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol * max(len(judgments), 1):
                converged = True
                break

        p_correct = _sigmoid(ability[workers] * np.exp(easiness[items]))
        answered = np.bincount(workers, minlength=n_workers).astype(np.float64)
        total = np.bincount(workers, weights=p_correct, minlength=n_workers)
        with np.errstate(invalid="ignore"):
            skill = np.where(answered > 0, total / np.maximum(answered, 1.0), np.nan)
        return finish(
            soft,
            has_votes,
            skill,
            log_likelihood=history,
            n_iter=len(history),
            converged=converged,
            priors=class_priors(soft, has_votes),
            item_difficulty=np.exp(-easiness),
        )

    def _m_step(
        self,
        ability: FloatArray,
        ability_mean: FloatArray,
        easiness: FloatArray,
        correct: FloatArray,
        judgments: Judgments,
    ) -> tuple[FloatArray, FloatArray]:
        """Diagonal Newton steps on abilities, then easiness, given P(answer correct).

        The expected log-likelihood is a logistic regression on s = a_w * exp(b_i),
        so each parameter's gradient and Fisher curvature are sums over its own
        judgments: two bincounts per parameter block. Steps are capped at 1 so a
        worker seen once cannot jump to an extreme before the prior has a say.
        """
        items, workers = judgments.items, judgments.workers
        ability_var = self.ability_prior[1]
        easiness_mean, easiness_var = self.easiness_prior
        for _ in range(self.m_steps):
            beta = np.exp(easiness)[items]
            p = _sigmoid(ability[workers] * beta)
            grad = (
                _total(workers, (correct - p) * beta, judgments.n_workers)
                - (ability - ability_mean) / ability_var
            )
            curv = _total(workers, p * (1 - p) * beta**2, judgments.n_workers) + 1.0 / ability_var
            ability = ability + np.clip(grad / curv, -1.0, 1.0)

            s = ability[workers] * beta
            p = _sigmoid(s)
            grad = (
                _total(items, (correct - p) * s, judgments.n_items)
                - (easiness - easiness_mean) / easiness_var
            )
            curv = _total(items, p * (1 - p) * s**2, judgments.n_items) + 1.0 / easiness_var
            easiness = easiness + np.clip(grad / curv, -1.0, 1.0)
        return ability, easiness
