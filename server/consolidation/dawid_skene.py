"""Dawid-Skene: each worker's errors as a confusion matrix, learned by EM.

Two members of the family: the full model (one K x K matrix per worker), which
captures systematic confusions and even puts a class-swapping worker's answers to
use, and the one-coin model (one accuracy per worker), which needs far fewer
answers per worker to estimate and is the safer choice when workers are sparse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelwire.server.consolidation.base import (
    BoolArray,
    ClassificationResult,
    FloatArray,
    IntArray,
    Judgments,
    Ranks,
    clamp_gold,
    class_priors,
    finish,
    log_normalise,
    normalise_rows,
)
from labelwire.server.consolidation.difficulty import integrate_difficulty, one_coin_spread
from labelwire.server.consolidation.em import EMClassifier, Fit, State, Trace
from labelwire.server.consolidation.row_prior import (
    RowPrior,
    Scoring,
    fit_row_prior,
    held_out_ratio,
    scoring_tables,
)
from labelwire.server.consolidation.shrinkage import fitted_strength

START_SMOOTHING = 5.0
"""Pseudo-answers per confusion row while EM first settles, before the crowd's own strength is fitted."""
START_COIN_SMOOTHING = 2.0
"""The same for one-coin's single accuracy per worker."""
LAYER_ITEMS = 1024
"""Items a rank must reach to be scored as a dense layer (`Judgments.by_rank`); rarer ranks
are gathered and summed per judgment, which costs less than a Python step per thin layer."""
PIECE = 16_384
"""Items per step through the layers: a step's K-wide temporaries (half a megabyte) stay in cache."""
PRODUCT_LAYERS = 8
"""Layers whose held-out ratios are multiplied before one log is taken."""
DIFFICULTY_ROUNDS = 2
"""Scorings with item difficulty integrated out (`difficulty.py`); each after the first uses
worker parameters counted from the last one's posteriors (a third round moved the band by
under 0.1 point on the planted-difficulty crowds)."""


@dataclass
class _Codes:
    """Each judgment as one (worker, answer) code, each code's count, and the
    smoothing in force (re-estimated once when the caller left it to the crowd)."""

    codes: IntArray
    totals: FloatArray
    smoothing: float
    ranks: Ranks
    """The items' rank order and the tail rows; the layers are kept as codes and workers."""
    layer_codes: list[IntArray]
    layer_workers: list[IntArray]
    tuned: bool = False
    row_prior: RowPrior | None = None
    """The three-level prior (`row_prior.py`), fitted once EM has converged, for the final
    scoring; EM itself, and a fixed `smoothing`, use one Dirichlet of `smoothing` per row."""
    counted: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None
    """The posteriors last counted, with their expected counts, prior and rank-ordered
    posteriors (see `_expected`)."""


@dataclass
class _Coins:
    """Each judgment's cell in a class-major table, each worker's number of answers, and
    the smoothing in force."""

    flat: IntArray
    answered: FloatArray
    smoothing: float
    tuned: bool = False


class _Family(EMClassifier[State]):
    """The settings both members of the family take: `smoothing` pseudo-answers per worker
    parameter (None: fitted to the crowd) and whether item difficulty is integrated out."""

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        smoothing: float | None = None,
        *,
        item_difficulty: bool = True,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing
        self.item_difficulty = item_difficulty


class DawidSkene(_Family[_Codes]):
    """Full confusion-matrix Dawid-Skene, computed in log space.

    Initialised from the majority vote. Each worker's matrix is smoothed with
    `smoothing` pseudo-answers per row drawn from a prior matrix: the pooled matrix
    of all workers, or the caller's prior accuracy for that worker. A worker with
    three answers therefore looks like an average worker nudged by those three,
    not like a degenerate matrix of zeros and ones that would overrule everyone.
    With `smoothing=None` (the default) the crowd chooses it: EM settles with 5 (roughly:
    that pass only has to come close enough to fit the strength from, `em.SETTLING_TOL`), the
    strength under which the workers' expected answer counts are most probable is
    fitted (empirical Bayes, `shrinkage.py`), and EM settles again with that.
    Each item is then scored with matrices fitted without its own answers, so an
    answer is not counted both as evidence and in the skill that weighs it. Fixed
    smoothing and in-sample scoring made the confidence 1-4 points too high overall
    and 4-20 points too high between 0.6 and 0.9. With `item_difficulty` (the default) each
    item's difficulty is then integrated out of its score (`difficulty.py`): where items
    differ in it, a split item is less sure than average matrices say.
    EM stops when the log-likelihood gains less than `tol` per judgment. Items are then scored
    under a prior of three strengths (a worker's accuracy, its rows' around it, their error
    split) fitted to EM's counts (`row_prior.py`): one strength for every cell shrank the workers'
    accuracies to 0.6-0.7 of their spread and left the band up to 2 points too sure.

    Dawid & Skene (1979), "Maximum likelihood estimation of observer error-rates using
    the EM algorithm", Applied Statistics 28(1), 20-28.

    Example:

    >>> from labelwire.server.consolidation import Judgments, DawidSkene
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = DawidSkene().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.5, 0.5])

    (Six answers cannot tell these workers apart, and Dawid-Skene says so; `MajorityVote(skill=0.7)`
    would state 0.7, `OneCoinDawidSkene` assumes more.)
    """

    def start(self, fit: Fit) -> _Codes:
        j = fit.judgments
        codes = j.worker_codes()
        ranks = j.by_rank(LAYER_ITEMS)
        return _Codes(
            codes,
            np.bincount(codes, minlength=j.n_workers * j.n_classes).astype(np.float64),
            START_SMOOTHING if self.smoothing is None else self.smoothing,
            Ranks(ranks.order, [], ranks.tail),
            [codes[rows] for rows in ranks.layers],
            [j.workers[rows] for rows in ranks.layers],
        )

    def settling(self, state: _Codes) -> bool:
        return self.smoothing is None and not state.tuned

    def retune(self, fit: Fit, state: _Codes, soft: FloatArray) -> bool:
        """With `smoothing=None`, the strength under which the workers' answer counts are
        most probable (Dirichlet-multinomial evidence), once EM has settled with a start value."""
        if self.smoothing is not None or state.tuned:
            return False
        state.tuned = True
        counts, prior, _ = self._expected(fit, state, soft)
        state.smoothing = fitted_strength(counts, prior)
        return True

    def log_joint(self, fit: Fit, state: _Codes, soft: FloatArray) -> FloatArray:
        """Every E-step scores items held out, not only the last: soft labels fitted
        in-sample feed their own optimism back into the matrices the next M-step fits."""
        return self._held_out(fit, state, soft)

    def held_out_log_joint(self, fit: Fit, state: _Codes, soft: FloatArray) -> FloatArray:
        """Held out as in every E-step, under the three-level prior fitted to EM's expected counts
        (`row_prior.py`) unless `smoothing` is fixed, then with each item's difficulty integrated
        out (`difficulty.py`) unless `item_difficulty` is off. The spread, and the first round's
        matrices, are fitted to the three-level scores' posteriors, not EM's: from EM's, the band
        on the planted-difficulty crowds was 1.1-1.3 points too sure (0.8 from these). Whether
        there is a spread at all is asked of EM's, which saves normalising the scores of a job
        without one (most of them; 2% of a 1M-judgment fit)."""
        if self.smoothing is None:
            counts, prior, _ = self._expected(fit, state, soft)
            state.row_prior = fit_row_prior(counts, prior, fit.prior_skill, fit.skill_known)
        scored = self._held_out(fit, state, soft)
        if not self.item_difficulty:
            return scored
        if not one_coin_spread(fit.judgments, soft, self.log_priors(fit, soft), fit.has_votes):
            return scored
        own = scored - self.log_priors(fit, soft)
        soft = clamp_gold(log_normalise(scored)[0], fit.gold_items, fit.gold_answers)
        var: float = one_coin_spread(fit.judgments, soft, self.log_priors(fit, soft), fit.has_votes)
        scored = own + self.log_priors(fit, soft)
        for round_ in range(DIFFICULTY_ROUNDS):
            log_priors = self.log_priors(fit, soft)
            log_rows = np.log(self._confusion(fit, state, soft))
            scored, var = integrate_difficulty(
                fit.judgments, scored - log_priors, log_rows, log_priors, fit.has_votes, var
            )
            if not var or round_ == DIFFICULTY_ROUNDS - 1:
                break
            soft = clamp_gold(log_normalise(scored)[0], fit.gold_items, fit.gold_answers)
            scored = self._held_out(fit, state, soft)
        return scored

    def _held_out(self, fit: Fit, state: _Codes, soft: FloatArray) -> FloatArray:
        """Each item scored with every worker's matrix minus that item's own expected answer:
        by rank layers where the ranks are well filled (`_layered`), per judgment for the rest."""
        j = fit.judgments
        k = j.n_classes
        tables = self._tables(fit, state, soft)
        by_code = tables.by_code()
        ranked = self._expected(fit, state, soft)[2]
        log_joint = np.zeros((k, j.n_items))
        if state.layer_codes:
            scored = state.ranks.order[: state.layer_codes[0].size]
            log_joint[:, scored] = self._layered(
                state, by_code, tables.rows, np.ascontiguousarray(ranked.T)
            ).T
        tail = state.ranks.tail
        if tail.size:
            items, codes, workers = j.items[tail], state.codes[tail], j.workers[tail]
            for t in range(k):
                posterior = soft[t].take(items)
                held_out = held_out_ratio([table[:, t].take(codes) for table in by_code], posterior)
                held_out /= tables.rows[:, t].take(workers) - posterior
                log_joint[t] += np.bincount(
                    items, weights=np.log(held_out, out=held_out), minlength=j.n_items
                )
        return self.log_priors(fit, soft) + log_joint

    @staticmethod
    def _layered(
        state: _Codes, by_code: list[FloatArray], row_sums: FloatArray, posterior: FloatArray
    ) -> FloatArray:
        """The held-out log-likelihood of each scored item's answers, [item in rank order, class].

        Judgment-major, a piece of `PIECE` items at a time through every layer, so that its
        temporaries stay in cache: per judgment one K-wide row of each table of `by_code` and
        one of its worker's row sums are gathered, the item's own posteriors are sliced, and the
        ratios of successive layers are multiplied, their log taken once every
        `PRODUCT_LAYERS` layers rather than once per judgment. A ratio is at least the
        smoothing times 1e-6 over the worker's number of answers, so eight of them
        cannot underflow; a sum of logs and the log of a product differ by rounding
        only (about 1e-15 on the posteriors). Each table is gathered on its own: arithmetic on
        K-wide slices of one wider gathered row ran at a third of the speed.
        """
        rows = np.ascontiguousarray(row_sums)
        total = np.zeros_like(posterior)
        for lo in range(0, posterior.shape[0], PIECE):
            hi = min(lo + PIECE, posterior.shape[0])
            product: FloatArray | None = None
            for rank, (codes, workers) in enumerate(zip(state.layer_codes, state.layer_workers, strict=True)):
                end = min(codes.size, hi)
                if end <= lo:
                    break
                own = posterior[lo:end]
                ratio = held_out_ratio([table.take(codes[lo:end], axis=0) for table in by_code], own)
                rest = rows.take(workers[lo:end], axis=0)
                rest -= own
                ratio /= rest
                if product is None:
                    product = ratio
                else:
                    product[: end - lo] *= ratio
                if rank % PRODUCT_LAYERS == PRODUCT_LAYERS - 1:
                    total[lo:hi] += np.log(product, out=product)
                    product = None
            if product is not None:
                total[lo : lo + product.shape[0]] += np.log(product, out=product)
        return total

    def result(
        self, fit: Fit, state: _Codes, soft: FloatArray, trace: Trace, scored: FloatArray
    ) -> ClassificationResult:
        j = fit.judgments
        confusion = self._confusion(fit, state, soft)
        priors = class_priors(soft, fit.has_votes)
        skill = np.einsum("t,wtt->w", priors, confusion)
        answered = np.bincount(j.workers, minlength=j.n_workers) > 0
        return finish(
            scored,
            fit.has_votes,
            np.where(answered, skill, np.nan),
            confusion=confusion,
            log_likelihood=trace.log_likelihood,
            n_iter=len(trace.log_likelihood),
            converged=trace.converged,
            priors=priors,
        )

    def _confusion(self, fit: Fit, state: _Codes, soft: FloatArray) -> FloatArray:
        """Smoothed confusion matrices, indexed [worker, truth, answer]."""
        return self._tables(fit, state, soft).confusion()

    def _tables(self, fit: Fit, state: _Codes, soft: FloatArray) -> Scoring:
        """The smoothed matrices over these posteriors' expected counts, in the factors an item
        is scored held out with: the three-level prior's once fitted, else one Dirichlet of
        `smoothing` pseudo-answers per row."""
        counts, prior, _ = self._expected(fit, state, soft)
        if state.row_prior is None:
            smoothed = counts + state.smoothing * prior
            return Scoring(smoothed, np.asarray(smoothed.sum(axis=2), dtype=np.float64))
        return scoring_tables(counts, prior, state.row_prior, fit.prior_skill, fit.skill_known)

    def _expected(
        self, fit: Fit, state: _Codes, soft: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """`_counts_and_prior` for these posteriors, and the posteriors in rank order
        (`_ranked`), computed once: EM asks again for the same posteriors after re-tuning the
        smoothing and when it builds the result, and the counts (unlike the smoothing) do
        not change."""
        if state.counted is not None and state.counted[0] is soft:
            return state.counted[1], state.counted[2], state.counted[3]
        j = fit.judgments
        size = j.n_workers * j.n_classes
        ranked = self._ranked(state, soft)
        per_code = []
        for t, row in enumerate(soft[:-1]):
            total = np.zeros(size)
            for codes in state.layer_codes:
                total += np.bincount(codes, weights=ranked[t, : codes.size], minlength=size)
            if state.ranks.tail.size:
                tail = state.ranks.tail
                total += np.bincount(state.codes[tail], weights=row.take(j.items[tail]), minlength=size)
            per_code.append(total)
        counts, prior = self._counts_and_prior(per_code, j, state.totals, fit.prior_skill, fit.skill_known)
        state.counted = (soft, counts, prior, ranked)
        return counts, prior, ranked

    @staticmethod
    def _ranked(state: _Codes, soft: FloatArray) -> FloatArray:
        """The class-major posteriors of the items the layers score, in rank order: layer r's
        judgments are the first `len(layer)` of them, so its weights are a slice."""
        if not state.layer_codes:
            return np.zeros((soft.shape[0], 0))
        return np.asarray(soft.take(state.ranks.order[: state.layer_codes[0].size], axis=1), dtype=np.float64)

    @staticmethod
    def _counts_and_prior(
        per_code: list[FloatArray],
        judgments: Judgments,
        code_totals: FloatArray,
        prior_skill: FloatArray,
        skill_known: BoolArray,
    ) -> tuple[FloatArray, FloatArray]:
        """Expected answer counts and the prior matrix, both indexed [worker, truth, answer].

        Posteriors sum to one per item, so the last class's counts are the code totals
        minus the others': one weighted bincount saved per iteration. `per_code` holds the
        first K - 1 classes' expected counts per (worker, answer) code.
        """
        k, n_workers = judgments.n_classes, judgments.n_workers
        per_code = list(per_code)
        per_code.append(np.maximum(code_totals - sum(per_code), 0.0))
        counts = np.stack(per_code).reshape(k, n_workers, k).transpose(1, 0, 2)
        prior = np.broadcast_to(normalise_rows(counts.sum(axis=0)), counts.shape).copy()
        if skill_known.any():
            p = prior_skill[skill_known][:, None, None]
            eye = np.eye(k)[None]
            prior[skill_known] = p * eye + (1 - p) / max(k - 1, 1) * (1 - eye)
        return np.asarray(counts, dtype=np.float64), np.asarray(np.maximum(prior, 1e-6), dtype=np.float64)


class OneCoinDawidSkene(_Family[_Coins]):
    """Dawid-Skene with one accuracy per worker, errors spread evenly over other classes.

    Each worker's accuracy is smoothed towards the pooled accuracy (or the caller's
    prior) with `smoothing` pseudo-answers; with `smoothing=None` (the default) the
    strength is fitted to the crowd by beta-binomial evidence once EM has settled with
    2, and each item is scored with accuracies fitted without its own answers, as in
    `DawidSkene`, item difficulty integrated out as there (`item_difficulty`). A worker below
    chance gets negative weight, so their answer counts as evidence against the class they chose.

    The one-coin model as named by Zhang, Chen, Zhou & Jordan (2014), "Spectral methods
    meet EM", NeurIPS.

    Example:

    >>> from labelwire.server.consolidation import Judgments, OneCoinDawidSkene
    >>> j = Judgments.from_lists([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [1, 1, 0, 0, 0, 1], n_classes=2)
    >>> result = OneCoinDawidSkene().fit(j)
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([1, 0], [0.98, 0.98])
    """

    def start(self, fit: Fit) -> _Coins:
        j = fit.judgments
        return _Coins(
            j.class_cells(),
            np.bincount(j.workers, minlength=j.n_workers).astype(np.float64),
            START_COIN_SMOOTHING if self.smoothing is None else self.smoothing,
        )

    def retune(self, fit: Fit, state: _Coins, soft: FloatArray) -> bool:
        """With `smoothing=None`, the strength under which each worker's expected right and
        wrong answers are most probable (beta-binomial evidence), once EM has settled."""
        if self.smoothing is not None or state.tuned:
            return False
        state.tuned = True
        correct, prior = self._correct_and_prior(soft, fit.judgments, state, fit.prior_skill, fit.skill_known)
        counts = np.stack([correct, np.maximum(state.answered - correct, 0.0)], axis=-1)
        mean = np.clip(np.stack([prior, 1 - prior], axis=-1), 1e-6, 1 - 1e-6)
        state.smoothing = fitted_strength(counts, mean)
        return True

    def held_out_log_joint(self, fit: Fit, state: _Coins, soft: FloatArray) -> FloatArray:
        """Each item scored with accuracies fitted without its own answers, then with its
        difficulty integrated out (`difficulty.py`) unless `item_difficulty` is off."""
        log_priors = self.log_priors(fit, soft)
        scored = log_priors + self._held_out_own(fit, state, soft)
        if not self.item_difficulty:
            return scored
        j = fit.judgments
        var: float | None = None
        for round_ in range(DIFFICULTY_ROUNDS):
            whole = self._skill(soft, j, state, fit.prior_skill, fit.skill_known)
            log_rows = np.empty((j.n_workers, 1, j.n_classes))
            log_rows[:, 0, 0] = np.log(whole)
            log_rows[:, 0, 1:] = np.log((1 - whole) / max(j.n_classes - 1, 1))[:, None]
            scored, var = integrate_difficulty(
                j, scored - log_priors, log_rows, log_priors, fit.has_votes, var
            )
            if not var or round_ == DIFFICULTY_ROUNDS - 1:
                break
            soft = clamp_gold(log_normalise(scored)[0], fit.gold_items, fit.gold_answers)
            log_priors = self.log_priors(fit, soft)
            scored = log_priors + self._held_out_own(fit, state, soft)
        return scored

    def _held_out_own(self, fit: Fit, state: _Coins, soft: FloatArray) -> FloatArray:
        """log p(item's answers | class), [class, item], each judgment weighed by its worker's
        accuracy fitted without it."""
        j = fit.judgments
        correct, prior = self._correct_and_prior(soft, j, state, fit.prior_skill, fit.skill_known)
        own = soft.ravel()[state.flat]
        w = j.workers
        skill = (correct[w] - own + state.smoothing * prior[w]) / (state.answered[w] - 1 + state.smoothing)
        skill = np.clip(skill, 1e-6, 1 - 1e-6)
        log_wrong = np.log((1 - skill) / max(j.n_classes - 1, 1))
        base = np.bincount(j.items, weights=log_wrong, minlength=j.n_items)
        return np.asarray(j.class_counts(np.log(skill) - log_wrong) + base, dtype=np.float64)

    def log_joint(self, fit: Fit, state: _Coins, soft: FloatArray) -> FloatArray:
        j = fit.judgments
        skill = self._skill(soft, j, state, fit.prior_skill, fit.skill_known)
        log_wrong = np.log((1 - skill) / max(j.n_classes - 1, 1))
        log_odds = np.log(skill) - log_wrong
        base = np.bincount(j.items, weights=log_wrong[j.workers], minlength=j.n_items)
        return self.log_priors(fit, soft) + j.class_counts(log_odds[j.workers]) + base

    def result(
        self, fit: Fit, state: _Coins, soft: FloatArray, trace: Trace, scored: FloatArray
    ) -> ClassificationResult:
        skill = self._skill(soft, fit.judgments, state, fit.prior_skill, fit.skill_known)
        return finish(
            scored,
            fit.has_votes,
            np.where(state.answered > 0, skill, np.nan),
            log_likelihood=trace.log_likelihood,
            n_iter=len(trace.log_likelihood),
            converged=trace.converged,
            priors=class_priors(soft, fit.has_votes),
        )

    def _skill(
        self,
        soft: FloatArray,
        judgments: Judgments,
        state: _Coins,
        prior_skill: FloatArray,
        skill_known: BoolArray,
    ) -> FloatArray:
        correct, prior = self._correct_and_prior(soft, judgments, state, prior_skill, skill_known)
        skill = (correct + state.smoothing * prior) / (state.answered + state.smoothing)
        return np.asarray(np.clip(skill, 1e-6, 1 - 1e-6), dtype=np.float64)

    @staticmethod
    def _correct_and_prior(
        soft: FloatArray, judgments: Judgments, state: _Coins, prior_skill: FloatArray, skill_known: BoolArray
    ) -> tuple[FloatArray, FloatArray]:
        """Each worker's expected number of right answers, and the accuracy it is shrunk towards."""
        correct = np.bincount(
            judgments.workers, weights=soft.ravel()[state.flat], minlength=judgments.n_workers
        )
        pooled = correct.sum() / max(state.answered.sum(), 1.0)
        return correct.astype(np.float64), np.asarray(
            np.where(skill_known, prior_skill, pooled), dtype=np.float64
        )
