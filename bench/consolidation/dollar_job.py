"""The simulated job of `dollar.py`: crowds, quiz records, and what a run measures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.consolidation.crowd import Preset, worker_confusions
from labelwire.server.consolidation import DawidSkene, Judgments, MajorityVote
from labelwire.server.consolidation.base import FloatArray
from labelwire.server.consolidation.pool_shrink import one_coin
from labelwire.server.dispatch.gate import estimated_skill, gold_pool

CROWDS: dict[str, Preset] = {
    "mixed": Preset(accuracy=(3.0, 1.5)),
    "prior_last": Preset(accuracy=(5.0, 2.5), class_priors=(0.1, 0.15, 0.25, 0.5)),
    "spammy": Preset(accuracy=(6.0, 2.0), spammer_share=0.25),
    "hard": Preset(accuracy=(2.5, 1.7)),
}
QUIZ = 5
REFIT = 100
FIXED = 5
POOLED_QUIZ = True
"""Label with quiz records shrunk towards the pool's (the server since cal13d); False: towards 0.7 as if from 2 answers."""


def se(values: list[float]) -> float:
    """Standard error of the mean over seeds (0 for one seed)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def paired(rows: list[tuple[float, Outcome, list[Outcome]]], fixed: list[float]) -> str:
    """Per seed, the cheapest target whose final accuracy reaches fixed-5's on the same crowd;
    its budget and first − final gap, mean ± standard error over seeds (a crowd's own
    difficulty cancels, unlike comparing the means)."""
    best = []
    for s, goal in enumerate(fixed):
        reach = [r[s] for _, _, r in rows if r[s].final_accuracy >= goal]
        if reach:
            best.append(min(reach, key=lambda o: o.budget))
    if not best:
        return "not reached"
    budgets = [o.budget for o in best]
    gaps = [o.first_accuracy - o.final_accuracy for o in best]
    return (
        f"{100 * np.mean(budgets):.1f} ± {100 * se(budgets):.1f}% (max {100 * max(budgets):.1f}%), "
        f"first − final {100 * np.mean(gaps):+.2f} ± {100 * se(gaps):.2f} pp, {len(best)}/{len(fixed)} reached"
    )


def interpolated(points: list[tuple[float, float]], goal: float) -> float | None:
    """The budget at which accuracy reaches `goal` on one seed, from (budget, accuracy) at each
    target in increasing order: linear between the last target short of the goal and the first
    that reaches it (the budget of mixing those two targets item by item), not the grid step's
    upper end. None when no target reaches it; the first target's budget when it already does."""
    for n, (budget, accuracy) in enumerate(points):
        if accuracy >= goal:
            if n == 0:
                return budget
            low, got = points[n - 1]
            return low + (goal - got) / (accuracy - got) * (budget - low)
    return None


@dataclass
class Outcome:
    budget: float
    first_accuracy: float
    final_accuracy: float
    revised: float
    turned_away: float


class Job:
    """One crowd: planted truth, worker matrices, arrival rates and quiz records."""

    def __init__(self, preset: Preset, n_items: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.k = preset.n_classes
        self.n_items = n_items
        self.n_workers = max(n_items // 25, 40)
        self.confusion, _ = worker_confusions(preset, self.n_workers, self.rng)
        priors = np.asarray(preset.class_priors or np.full(self.k, 1 / self.k))
        self.priors = priors / priors.sum()
        self.truth = self.rng.choice(self.k, size=n_items, p=self.priors)
        rate = self.rng.gamma(2.0, size=self.n_workers)
        self.arrival = rate / rate.sum()
        quiz_truth = self.rng.choice(self.k, size=(self.n_workers, QUIZ), p=self.priors)
        right = np.array(
            [[self.answer(w, int(t)) == t for t in quiz_truth[w]] for w in range(self.n_workers)]
        ).sum(axis=1)
        self.quiz_right = right
        self.quiz_skill = (right + 1.4) / (QUIZ + 2)  # gate.estimated_skill, no pool: routing's
        self.label_skill = self.quiz_skill
        """The skill a judge without a pass fit is labeled with: the quiz record shrunk towards
        the pool's (`gate.gold_pool`, all the job's workers: the server reads those who have
        joined) when `POOLED_QUIZ`, as the server's `items.item_label` does since cal13d."""
        pool = gold_pool([(QUIZ, int(r)) for r in right]) if POOLED_QUIZ else None
        if pool is not None:
            self.label_skill = np.array([estimated_skill(None, QUIZ, int(r), pool) for r in right])

    def answer(self, worker: int, truth: int) -> int:
        return int(self.rng.choice(self.k, p=self.confusion[worker, truth]))

    def judgments(self, items: list[int], workers: list[int], answers: list[int]) -> Judgments:
        return Judgments.from_lists(
            items, workers, answers, n_classes=self.k, n_items=self.n_items, n_workers=self.n_workers
        )

    def fixed(self) -> tuple[float, float]:
        """Accuracy of majority vote and of Dawid-Skene with FIXED judgments per item."""
        items, workers, answers = [], [], []
        for i in range(self.n_items):
            for w in self.rng.choice(self.n_workers, size=FIXED, replace=False, p=self.arrival):
                items.append(i)
                workers.append(int(w))
                answers.append(self.answer(int(w), int(self.truth[i])))
        j = self.judgments(items, workers, answers)
        mv = MajorityVote().fit(j).labels
        ds = DawidSkene().fit(j).labels
        return float(np.mean(mv == self.truth)), float(np.mean(ds == self.truth))


@dataclass
class FirstLabels:
    """What `simulate` records: per first label emitted between passes (item, its judgments,
    confidence, whether its last judge's matrix came from a pass, judgments in the job
    then); at the end every item's first and final labels."""

    rows: list[tuple[int, int, float, bool, int]] = field(default_factory=list)
    first: np.ndarray | None = None
    final: np.ndarray | None = None


def one_coin_row(skill: float, k: int) -> FloatArray:
    """A worker of accuracy `skill` as a confusion matrix, errors spread evenly: the
    server's own (`pool_shrink.one_coin`), so the simulation labels as it does."""
    return one_coin(np.array([skill], dtype=np.float64), k)[0]
