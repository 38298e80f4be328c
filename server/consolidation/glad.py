"""GLAD: a worker's chance of being right depends on their ability and the item's difficulty."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelwire.server.consolidation.base import (
    ClassificationResult,
    FloatArray,
    IntArray,
    Judgments,
    class_priors,
    finish,
)
from labelwire.server.consolidation.em import EMClassifier, Fit, Trace


@dataclass
class _Parameters:
    """Worker abilities and item easiness, updated by each M-step."""

    ability: FloatArray
    ability_mean: FloatArray
    easiness: FloatArray
    flat: IntArray
    easiness_var: float


QUADRATURE = 5
"""Gauss-Hermite nodes over an item's easiness when scoring it."""


def _log_sigmoid(x: FloatArray) -> FloatArray:
    return -np.logaddexp(0.0, -x)


def _total(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float64)


class GLAD(EMClassifier[_Parameters]):
    """Whitehill et al. (2009): P(correct) = sigmoid(ability_w * exp(easiness_i)).

    Worth its cost when items differ in difficulty: a hard item's disagreement is
    not held against the workers, and an easy item's wrong answer is. A wrong
    answer is spread evenly over the other classes. The M-step takes
    `m_steps` diagonal Newton steps on the expected log-likelihood (a generalised
    EM), alternating abilities and easiness, each under a Gaussian prior so that
    items with one or two answers keep a finite difficulty.

    The spread of easiness is fitted to the crowd (`fit_easiness_spread`, on by
    default: the EM update of the prior's variance, EM settling again after each
    change), and each item is scored with its easiness integrated out under that
    prior and abilities held out from its own answers. With a fixed spread of 1 and
    plug-in easiness an item whose few answers agree looked easy because they
    agreed, and GLAD's confidence ran 2-5 points above its accuracy on hard crowds.

    Whitehill, Ruvolo, Wu, Bergsma & Movellan (2009), "Whose vote should count more",
    NeurIPS.

    Example:

    >>> from labelwire.server.consolidation import Judgments, GLAD
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = GLAD().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.87, 0.87])
    """

    stop_on_any_change = True

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        m_steps: int = 2,
        ability_prior: tuple[float, float] = (1.0, 1.0),
        easiness_prior: tuple[float, float] = (0.0, 1.0),
        *,
        fit_easiness_spread: bool = True,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.m_steps = m_steps
        self.ability_prior = ability_prior
        self.easiness_prior = easiness_prior
        self.fit_easiness_spread = fit_easiness_spread

    def start(self, fit: Fit) -> _Parameters:
        ability = np.full(fit.judgments.n_workers, self.ability_prior[0])
        if fit.skill_known.any():
            # The ability at which an average item (easiness 0) is answered with the prior accuracy.
            known = fit.prior_skill[fit.skill_known]
            ability[fit.skill_known] = np.log(known / (1 - known))
        j = fit.judgments
        return _Parameters(
            ability=ability,
            ability_mean=ability.copy(),
            easiness=np.full(j.n_items, self.easiness_prior[0]),
            flat=j.class_cells(),
            easiness_var=self.easiness_prior[1],
        )

    def retune(self, fit: Fit, state: _Parameters, soft: FloatArray) -> bool:
        """With `fit_easiness_spread`, the spread of item easiness the crowd shows: the
        EM update of the prior's variance (each item's squared easiness plus its
        Laplace posterior variance), after which EM settles again under it."""
        if not self.fit_easiness_spread:
            return False
        j = fit.judgments
        beta = np.exp(state.easiness)[j.items]
        s = state.ability[j.workers] * beta
        p = _sigmoid(s)
        curv = _total(j.items, p * (1 - p) * s**2, j.n_items) + 1.0 / state.easiness_var
        voted = fit.has_votes
        deviation = state.easiness[voted] - self.easiness_prior[0]
        before, state.easiness_var = (
            state.easiness_var,
            float(np.clip(np.mean(deviation**2 + 1.0 / curv[voted]), 0.01, 4.0)),
        )
        return bool(abs(np.log(state.easiness_var / before)) > 0.05)

    def log_joint(self, fit: Fit, state: _Parameters, soft: FloatArray) -> FloatArray:
        j = fit.judgments
        log_others = np.log(max(j.n_classes - 1, 1))
        state.ability, state.easiness = self._m_step(
            state.ability, state.ability_mean, state.easiness, soft.ravel()[state.flat], j, state.easiness_var
        )
        s = state.ability[j.workers] * np.exp(state.easiness[j.items])
        base = np.bincount(j.items, weights=_log_sigmoid(-s) - log_others, minlength=j.n_items)
        return self.log_priors(fit, soft) + j.class_counts(s + log_others) + base

    def held_out_log_joint(self, fit: Fit, state: _Parameters, soft: FloatArray) -> FloatArray:
        """Each item's log joint with its easiness integrated out under its prior rather
        than set to the value fitted to that item's own answers.

        An item's easiness is fitted to a handful of answers, its own: when they agree
        it comes out high and makes them look more certain still. Integrating it out
        (Gauss-Hermite quadrature over the Gaussian prior, `QUADRATURE` nodes) scores
        each item by what its answers say given the workers' abilities, and nothing it
        taught itself. Abilities are scored without each judgment's own contribution
        (one Newton step back from the fit, the usual approximate leave-one-out).
        """
        j = fit.judgments
        correct = soft.ravel()[state.flat]
        beta = np.exp(state.easiness)[j.items]
        p = _sigmoid(state.ability[j.workers] * beta)
        hess = p * (1 - p) * beta**2
        curv = _total(j.workers, hess, j.n_workers) + 1.0 / self.ability_prior[1]
        ability = state.ability[j.workers] - (correct - p) * beta / np.maximum(curv[j.workers] - hess, 1e-9)
        return self.log_priors(fit, soft) + self._integrated(j, ability, state.easiness_var)

    def _integrated(self, j: Judgments, ability: FloatArray, var: float) -> FloatArray:
        """log p(item's answers | class), its easiness integrated over N(mean, var)."""
        log_others = np.log(max(j.n_classes - 1, 1))
        nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE)
        per_node = []
        for node, weight in zip(nodes, weights, strict=True):
            s = ability * np.exp(self.easiness_prior[0] + np.sqrt(var) * node)
            base = np.bincount(j.items, weights=_log_sigmoid(-s) - log_others, minlength=j.n_items)
            per_node.append(j.class_counts(s + log_others) + base + np.log(weight / np.sqrt(2 * np.pi)))
        return np.asarray(np.logaddexp.reduce(np.stack(per_node), axis=0), dtype=np.float64)

    def result(
        self, fit: Fit, state: _Parameters, soft: FloatArray, trace: Trace, scored: FloatArray
    ) -> ClassificationResult:
        j = fit.judgments
        p_correct = _sigmoid(state.ability[j.workers] * np.exp(state.easiness[j.items]))
        answered = np.bincount(j.workers, minlength=j.n_workers).astype(np.float64)
        total = np.bincount(j.workers, weights=p_correct, minlength=j.n_workers)
        with np.errstate(invalid="ignore"):
            skill = np.where(answered > 0, total / np.maximum(answered, 1.0), np.nan)
        return finish(
            scored,
            fit.has_votes,
            skill,
            log_likelihood=trace.log_likelihood,
            n_iter=len(trace.log_likelihood),
            converged=trace.converged,
            priors=class_priors(soft, fit.has_votes),
            item_difficulty=np.exp(-state.easiness),
        )

    def _m_step(
        self,
        ability: FloatArray,
        ability_mean: FloatArray,
        easiness: FloatArray,
        correct: FloatArray,
        judgments: Judgments,
        easiness_var: float,
    ) -> tuple[FloatArray, FloatArray]:
        """Diagonal Newton steps on abilities, then easiness, given P(answer correct).

        The expected log-likelihood is a logistic regression on s = a_w * exp(b_i),
        so each parameter's gradient and Fisher curvature are sums over its own
        judgments: two bincounts per parameter block. Steps are capped at 1 so a
        worker seen once cannot jump to an extreme before the prior has a say.
        """
        items, workers = judgments.items, judgments.workers
        ability_var = self.ability_prior[1]
        easiness_mean = self.easiness_prior[0]
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
