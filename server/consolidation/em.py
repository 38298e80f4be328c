"""The expectation-maximisation loop the latent-truth methods share.

Dawid-Skene, one-coin Dawid-Skene and GLAD differ only in how a worker's answers
are modelled (the M-step, and the log-probability of each item's answers under each
class it gives). Everything else is written here once: starting from the vote
shares, keeping gold items at their known answer, the class priors, normalising,
the gold-aware log-likelihood and the stopping rule.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

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
    class_priors,
    gold_and_votes,
    gold_log_likelihood,
    log_normalise,
    skill_prior,
    vote_shares,
)

State = TypeVar("State")
MAX_PASSES = 6
"""EM passes at most: the first, and one more after each change of hyperparameters."""
SETTLING_TOL = 30.0
"""How much looser the stopping rule is for a pass that only settles the posteriors enough to
fit hyperparameters from (`EMClassifier.settling`): the pass after it starts near the answer."""


@dataclass(frozen=True)
class Fit:
    """What one `fit` call knows before its first iteration."""

    judgments: Judgments
    gold_items: IntArray
    gold_answers: IntArray
    has_votes: BoolArray
    prior_skill: FloatArray
    skill_known: BoolArray


@dataclass(frozen=True)
class Trace:
    """How EM went: the log-likelihood per iteration and whether it settled."""

    log_likelihood: list[float]
    converged: bool


class EMClassifier(Classifier, Generic[State]):
    """A classification method fitted by EM over class-major soft labels.

    A subclass sets up its parameters once (`start`), gives the unnormalised log
    joint of each class and item for the current soft labels (`log_joint`, which
    also runs its M-step) and turns the final soft labels into a result (`result`).
    EM stops when the log-likelihood gains less than `tol` per judgment.
    """

    n_iter: int
    tol: float
    stop_on_any_change = False
    """GLAD's generalised M-step need not raise the likelihood, so it stops on a small change either way."""

    def fit(
        self,
        judgments: Judgments,
        *,
        gold: Gold | None = None,
        worker_skill: FloatArray | None = None,
    ) -> ClassificationResult:
        judgments = judgments.sorted_by_item()
        gold_items, gold_answers, has_votes = gold_and_votes(judgments, gold)
        prior_skill, skill_known = skill_prior(worker_skill, judgments.n_workers)
        fit = Fit(judgments, gold_items, gold_answers, has_votes, prior_skill, skill_known)
        state = self.start(fit)
        soft = clamp_gold(vote_shares(judgments), gold_items, gold_answers)
        history: list[float] = []
        converged = False
        for passes in range(1, MAX_PASSES + 1):
            converged, start = False, len(history)
            tol = self.tol * (SETTLING_TOL if self.settling(state) else 1.0)
            for _ in range(self.n_iter - len(history)):
                log_joint = self.log_joint(fit, state, soft)
                soft, evidence = log_normalise(log_joint)
                history.append(gold_log_likelihood(log_joint, evidence, gold_items, gold_answers))
                clamp_gold(soft, gold_items, gold_answers)
                if len(history) - start > 1:
                    gain = history[-1] - history[-2]
                    if (abs(gain) if self.stop_on_any_change else gain) < tol * max(len(judgments), 1):
                        converged = True
                        break
            if passes == MAX_PASSES or not self.retune(fit, state, soft):
                break
        scored = soft
        held_out = self.held_out_log_joint(fit, state, soft)
        if held_out is not None:
            scored, _ = log_normalise(held_out)
            clamp_gold(scored, gold_items, gold_answers)
        return self.result(fit, state, soft, Trace(history, converged), scored)

    def settling(self, state: State) -> bool:
        """True when the pass about to run only settles EM for `retune`, whose next pass
        gives the result: it may stop at a looser tolerance (`SETTLING_TOL`)."""
        return False

    def retune(self, fit: Fit, state: State, soft: FloatArray) -> bool:
        """Re-estimates the model's hyperparameters from the converged posteriors; True
        sends EM on from there with them (at most `MAX_PASSES` passes in all)."""
        return False

    def held_out_log_joint(self, fit: Fit, state: State, soft: FloatArray) -> FloatArray | None:
        """The log joint with each item's own answers left out of the worker parameters
        that score it, or None to keep the EM posteriors.

        EM fits each worker to every item it answered, the item being scored included,
        so the answers on an item count twice: once as evidence, once in the skill that
        weighs that evidence. With a few hundred answers per worker that double use makes
        the posteriors too sure of themselves; scoring each item with parameters fitted
        without it (leave-one-out, the predictive distribution of a fresh item) removes it.
        """
        return None

    def log_priors(self, fit: Fit, soft: FloatArray) -> FloatArray:
        """Log class priors as a column, for adding to a (class, item) table."""
        return np.log(class_priors(soft, fit.has_votes))[:, None]

    @abstractmethod
    def start(self, fit: Fit) -> State: ...

    @abstractmethod
    def log_joint(self, fit: Fit, state: State, soft: FloatArray) -> FloatArray: ...

    @abstractmethod
    def result(
        self, fit: Fit, state: State, soft: FloatArray, trace: Trace, scored: FloatArray
    ) -> ClassificationResult:
        """The result: parameters from the EM posteriors `soft`, labels from `scored`
        (the held-out posteriors when the method scores items held out, else `soft`)."""
