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
from labelwire.server.consolidation.shrinkage import golden_log_max


@dataclass
class _Parameters:
    """Worker abilities and item easiness, updated by each M-step."""

    ability: FloatArray
    ability_mean: FloatArray
    easiness: FloatArray
    flat: IntArray
    easiness_var: float
    right: FloatArray | None = None
    """Each judgment's chance of being right under the marginal refit, held out and its
    easiness integrated out (`GLAD._marginal`), when it ran."""


QUADRATURE = 7
"""Gauss-Hermite nodes over an item's easiness when refitting and scoring with it integrated out."""
MARGINAL_ROUNDS = 4
"""Rounds of the marginal refit (`GLAD._marginal`): two Newton steps on the abilities, then the spread."""
SPREAD_RANGE = (0.01, 4.0)
"""The easiness variances the marginal refit searches (golden section on their log)."""
SPREAD_ITEMS = 25_000
"""Items the spread's likelihood is evaluated on (every k-th item of a larger job): one
number, pinned down as well by 25,000 items as by a million, at a fortieth of the cost."""
SPREAD_STEPS = 8
"""Golden-section steps of the first search (the later ones, within a factor of two, take half)."""


def _log_sigmoid(x: FloatArray) -> FloatArray:
    """log(sigmoid(x)), stable at both ends (a third of the time of `-logaddexp(0, -x)`)."""
    return np.asarray(np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x))), dtype=np.float64)


def _total(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float64)


def _every_kth_item(fit: Fit, most: int) -> tuple[Fit, IntArray]:
    """`fit` restricted to every k-th item so that at most `most` remain (items renumbered,
    gold kept), and the rows of the judgments kept; `fit` itself when it is small enough."""
    j = fit.judgments
    stride = -(-j.n_items // most)
    if stride <= 1:
        return fit, np.arange(j.items.size)
    rows = np.flatnonzero(j.items % stride == 0)
    gold = fit.gold_items % stride == 0
    sample = Fit(
        Judgments.from_lists(
            j.items[rows] // stride,
            j.workers[rows],
            j.answers[rows],
            n_classes=j.n_classes,
            n_items=-(-j.n_items // stride),
            n_workers=j.n_workers,
        ),
        fit.gold_items[gold] // stride,
        fit.gold_answers[gold],
        fit.has_votes[::stride],
        fit.prior_skill,
        fit.skill_known,
    )
    return sample, rows


class GLAD(EMClassifier[_Parameters]):
    """Whitehill et al. (2009): P(correct) = sigmoid(ability_w * exp(easiness_i)).

    Worth its cost when items differ in difficulty: a hard item's disagreement is
    not held against the workers, and an easy item's wrong answer is. A wrong
    answer is spread evenly over the other classes. The M-step takes
    `m_steps` diagonal Newton steps on the expected log-likelihood (a generalised
    EM), alternating abilities and easiness, each under a Gaussian prior so that
    items with one or two answers keep a finite difficulty.

    Each item is scored with its easiness integrated out under the prior and abilities
    held out from its own answers: with plug-in easiness an item whose few answers
    agree looked easy because they agreed, and GLAD's confidence ran 2-5 points above
    its accuracy on hard crowds. With `fit_easiness_spread` (the default) the abilities
    and the spread of easiness are refitted with easiness integrated out before
    scoring (`_marginal`); EM's own update of the spread crawled, and left GLAD 1-2
    points underconfident on crowds with no item difficulty and 3-5 points
    overconfident on crowds with much (`bench/README.md`, issue 13).

    Whitehill, Ruvolo, Wu, Bergsma & Movellan (2009), "Whose vote should count more",
    NeurIPS.

    Example:

    >>> from labelwire.server.consolidation import Judgments, GLAD
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = GLAD().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.89, 0.89])
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

        With `fit_easiness_spread` the abilities and the spread are first refitted with
        easiness integrated out too (`_marginal`): EM fits them with one free easiness per
        item, and with five answers an item's own easiness soaks up its agreement, so the
        abilities came out 2-4 points of accuracy too high and the spread, which EM updates
        at a crawl, stayed wherever six passes left it (0.4 on crowds with no difficulty,
        about half the planted 1.0 on crowds with some).
        """
        j = fit.judgments
        if self.fit_easiness_spread:
            ability, var = self._marginal(fit, state, soft)
            nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE)
            scale = np.exp(self.easiness_prior[0] + np.sqrt(var) * nodes)
            state.right = sum(
                w * _sigmoid(ability * b) for b, w in zip(scale, weights / weights.sum(), strict=True)
            )
            return self.log_priors(fit, soft) + self._integrated(fit, ability, var)
        correct = soft.ravel()[state.flat]
        beta = np.exp(state.easiness)[j.items]
        p = _sigmoid(state.ability[j.workers] * beta)
        hess = p * (1 - p) * beta**2
        curv = _total(j.workers, hess, j.n_workers) + 1.0 / self.ability_prior[1]
        ability = state.ability[j.workers] - (correct - p) * beta / np.maximum(curv[j.workers] - hess, 1e-9)
        return self.log_priors(fit, soft) + self._integrated(fit, ability, state.easiness_var)

    def _integrated(self, fit: Fit, ability: FloatArray, var: float) -> FloatArray:
        """log p(item's answers | class), its easiness integrated over N(mean, var);
        `ability` is per judgment."""
        by_node, _ = self._by_node(fit, ability, var)
        return np.asarray(np.logaddexp.reduce(by_node, axis=0), dtype=np.float64)

    def _by_node(self, fit: Fit, ability: FloatArray, var: float) -> tuple[FloatArray, FloatArray]:
        """log p(item's answers, easiness node | class) as [node, class, item] (gold items'
        other classes impossible), and exp(easiness) at each node."""
        j = fit.judgments
        log_others = np.log(max(j.n_classes - 1, 1))
        nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE)
        scale = np.exp(self.easiness_prior[0] + np.sqrt(var) * nodes)
        out = np.empty((QUADRATURE, j.n_classes, j.n_items))
        for q in range(QUADRATURE):
            s = ability * scale[q]
            base = np.bincount(j.items, weights=_log_sigmoid(-s) - log_others, minlength=j.n_items)
            out[q] = j.class_counts(s + log_others) + base + np.log(weights[q] / np.sqrt(2 * np.pi))
        if fit.gold_items.size:
            known = np.full((j.n_classes, fit.gold_items.size), -np.inf)
            known[fit.gold_answers, np.arange(fit.gold_items.size)] = 0.0
            out[:, :, fit.gold_items] += known
        return out, scale

    def _marginal(self, fit: Fit, state: _Parameters, soft: FloatArray) -> tuple[FloatArray, float]:
        """Abilities and easiness spread refitted with each item's easiness integrated out
        (marginal maximum likelihood: EM over class and easiness node jointly), the spread
        chosen by its marginal likelihood; returns the abilities per judgment, each held out
        from its own judgment by one Newton step, and the spread."""
        j = fit.judgments
        log_priors = self.log_priors(fit, soft)
        ability, var = state.ability.copy(), state.easiness_var
        sample, rows = _every_kth_item(fit, SPREAD_ITEMS)
        for round_ in range(MARGINAL_ROUNDS):
            for _ in range(2):
                grad, hess = self._node_terms(fit, ability[j.workers], var, log_priors)
                total_grad = (
                    _total(j.workers, grad, j.n_workers)
                    - (ability - state.ability_mean) / self.ability_prior[1]
                )
                curv = _total(j.workers, hess, j.n_workers) + 1.0 / self.ability_prior[1]
                ability = ability + np.clip(total_grad / curv, -1.0, 1.0)
            var = self._spread(sample, ability[j.workers[rows]], var, log_priors, first=round_ == 0)
        grad, hess = self._node_terms(fit, ability[j.workers], var, log_priors)
        curv = _total(j.workers, hess, j.n_workers) + 1.0 / self.ability_prior[1]
        return ability[j.workers] - grad / np.maximum(curv[j.workers] - hess, 1e-9), var

    def _node_terms(
        self, fit: Fit, ability: FloatArray, var: float, log_priors: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Each judgment's gradient and curvature of the expected log-likelihood in its
        worker's ability, the expectation over (class, easiness node) given the item's
        answers."""
        j = fit.judgments
        by_node, scale = self._by_node(fit, ability, var)
        by_node += log_priors[None]
        evidence = np.logaddexp.reduce(by_node.reshape(-1, j.n_items), axis=0)
        weight = np.exp(by_node - evidence)
        grad = np.zeros(j.items.size)
        hess = np.zeros(j.items.size)
        for q in range(QUADRATURE):
            right = weight[q].ravel()[j.class_cells()]
            here = weight[q].sum(axis=0)[j.items]
            p = _sigmoid(ability * scale[q])
            grad += (right - here * p) * scale[q]
            hess += here * p * (1 - p) * scale[q] ** 2
        return grad, hess

    def _spread(
        self, fit: Fit, ability: FloatArray, var: float, log_priors: FloatArray, *, first: bool
    ) -> float:
        """The easiness variance of greatest marginal likelihood, abilities held: golden
        section on its log over `SPREAD_RANGE` the first time, then within a factor of
        two of the last value."""
        j = fit.judgments

        def evidence(log_var: float) -> float:
            by_node, _ = self._by_node(fit, ability, float(np.exp(log_var)))
            by_node += log_priors[None]
            return float(np.logaddexp.reduce(by_node.reshape(-1, j.n_items), axis=0)[fit.has_votes].sum())

        low, high = np.log(SPREAD_RANGE[0]), np.log(SPREAD_RANGE[1])
        a, b = (low, high) if first else (max(np.log(var / 2), low), min(np.log(var * 2), high))
        return golden_log_max(evidence, float(a), float(b), SPREAD_STEPS if first else SPREAD_STEPS // 2)

    def result(
        self, fit: Fit, state: _Parameters, soft: FloatArray, trace: Trace, scored: FloatArray
    ) -> ClassificationResult:
        j = fit.judgments
        p_correct = (
            state.right
            if state.right is not None
            else _sigmoid(state.ability[j.workers] * np.exp(state.easiness[j.items]))
        )
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
