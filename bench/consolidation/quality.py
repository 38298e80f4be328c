"""Calibration, ties and gold: before and after in the same run (issue 13, items 3 and 4).

    nice -n 10 .venv/bin/python bench/consolidation/quality.py --quick   # 4 crowds per preset, ~2 min on a busy machine
    nice -n 10 .venv/bin/python bench/consolidation/quality.py           # 12 crowds per preset, ~4.5 min on a busy machine
    nice -n 10 .venv/bin/python bench/consolidation/quality.py --before difficulty   # DS and one-coin only

"Before" is the library as of commit e0126f1: `before.py` keeps its majority votes, and the EM
methods before are the same classes with their old fixed smoothing (or easiness spread) and
held-out scoring switched off. With `--before difficulty` it is Dawid-Skene and one-coin with
item difficulty not integrated out (`item_difficulty=False`, the tree before cal13d).
Every figure pools the items of all the crowds of a preset (seeds 1000 and up, 100k judgments
each): one crowd's bins move the in-band ECE by a point or more (`spammy` +0.45 to +2.53 over
seeds 1000-1008), so one seed's figure is not a property of the method. The last column gives
the signed gap's range over the crowds one by one. The crowds here are not the ones the
changes were tried on (seeds 11-13 and 21 in development; 1000 and up here).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation import before
from bench.consolidation.crowd import Crowd, Preset, generate
from labelwire.server.consolidation import (
    GLAD,
    ClassificationResult,
    DawidSkene,
    Judgments,
    MajorityVote,
    OneCoinDawidSkene,
    WeightedMajorityVote,
)

CROWDS: dict[str, Preset] = {
    "mixed_skill": Preset(accuracy=(2.0, 1.2)),
    "hard": Preset(accuracy=(3.0, 2.0), judgments_per_item=(3, 5), answers_per_worker=100),
    "prior_last": Preset(class_priors=(0.1, 0.15, 0.25, 0.5)),
    "spammy": Preset(spammer_share=0.25, answers_per_worker=100),
    "overlap_wide": Preset(judgments_per_item=(2, 8), answers_per_worker=150),
    "few_answers": Preset(answers_per_worker=40),
}
DIFFICULTY: dict[str, float] = {"difficulty_0.5": 0.5, "difficulty_1.0": 1.0}
"""GLAD's own kind of crowd: planted item easiness of this standard deviation (the crowds
above have none), so that a change to GLAD's spread is judged where it matters too."""


def planted_difficulty(sd: float, n_judgments: int, seed: int) -> Crowd:
    """GLAD's model: P(right) = sigmoid(ability * exp(easiness)), easiness ~ N(0, sd²), errors
    spread evenly over 4 classes; abilities are the log-odds of Beta(7, 3) accuracies on an
    average item; 5 answers per item from distinct workers, about 200 per worker."""
    rng = np.random.default_rng(seed)
    k, per_item = 4, 5
    n_items, n_workers = n_judgments // per_item, n_judgments // 200
    accuracy = np.clip(rng.beta(7.0, 3.0, size=n_workers), 0.3, 0.98)
    ability = np.log(accuracy / (1 - accuracy))
    easiness = rng.normal(0.0, sd, size=n_items)
    truth = rng.integers(0, k, size=n_items).astype(np.int64)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items, dtype=np.int64), per_item)
    right = rng.random(items.size) < 1 / (1 + np.exp(-ability[workers] * np.exp(easiness[items])))
    answers = np.where(right, truth[items], (truth[items] + rng.integers(1, k, size=items.size)) % k)
    judgments = Judgments.from_lists(
        items, workers, answers, n_classes=k, n_items=n_items, n_workers=n_workers
    )
    eye = np.eye(k)[None]
    confusion = accuracy[:, None, None] * eye + ((1 - accuracy) / (k - 1))[:, None, None] * (1 - eye)
    return Crowd(judgments, truth, confusion, np.zeros(n_workers, dtype=np.int64))


def crowds(name: str, size: int, seeds: list[int]) -> list[Crowd]:
    if name in DIFFICULTY:
        return [planted_difficulty(DIFFICULTY[name], size, seed) for seed in seeds]
    return [generate(CROWDS[name], size, seed) for seed in seeds]


class DawidSkeneBefore(DawidSkene):
    """Dawid-Skene as it was: fixed smoothing 5, items scored in-sample."""

    def __init__(self) -> None:
        super().__init__(smoothing=5.0)

    def log_joint(self, fit, state, soft):  # type: ignore[no-untyped-def]
        j = fit.judgments
        k, n_workers = j.n_classes, j.n_workers
        confusion = self._confusion(fit, state, soft)
        log_confusion = np.log(confusion).transpose(1, 0, 2).reshape(k, n_workers * k)
        return self.log_priors(fit, soft) + j.per_item(log_confusion, state.codes)

    def held_out_log_joint(self, fit, state, soft):  # type: ignore[no-untyped-def]
        return None


class OneCoinBefore(OneCoinDawidSkene):
    """One-coin as it was: fixed smoothing 2, items scored in-sample."""

    def __init__(self) -> None:
        super().__init__(smoothing=2.0)

    def held_out_log_joint(self, fit, state, soft):  # type: ignore[no-untyped-def]
        return None


class GLADBefore(GLAD):
    """GLAD as it was: easiness spread fixed at 1, easiness plugged in."""

    def __init__(self) -> None:
        super().__init__(fit_easiness_spread=False)

    def held_out_log_joint(self, fit, state, soft):  # type: ignore[no-untyped-def]
        return None


Fitter = Callable[[Judgments], ClassificationResult]
METHODS: dict[str, tuple[Fitter, Fitter]] = {
    "MV": (lambda j: before.MajorityVote().fit(j), lambda j: MajorityVote(skill=0.7).fit(j)),
    "DS": (lambda j: DawidSkeneBefore().fit(j), lambda j: DawidSkene().fit(j)),
    "OneCoin": (lambda j: OneCoinBefore().fit(j), lambda j: OneCoinDawidSkene().fit(j)),
    "GLAD": (lambda j: GLADBefore().fit(j), lambda j: GLAD().fit(j)),
}
DIFFICULTY_METHODS: dict[str, tuple[Fitter, Fitter]] = {
    "DS": (lambda j: DawidSkene(item_difficulty=False).fit(j), lambda j: DawidSkene().fit(j)),
    "OneCoin": (
        lambda j: OneCoinDawidSkene(item_difficulty=False).fit(j),
        lambda j: OneCoinDawidSkene().fit(j),
    ),
}


def ece(confidence: np.ndarray, correct: np.ndarray, lo: float = 0.0, hi: float = 1.01) -> float:
    """Expected calibration error in points, 10 equal-width bins, over items with lo <= confidence < hi."""
    bins = np.minimum((confidence * 10).astype(int), 9)
    chosen = (confidence >= lo) & (confidence < hi)
    total = 0.0
    for b in range(10):
        m = chosen & (bins == b)
        if m.any():
            total += m.sum() * abs(confidence[m].mean() - correct[m].mean())
    return 100 * total / max(int(chosen.sum()), 1)


def calibration(size: int, seeds: list[int], methods: dict[str, tuple[Fitter, Fitter]]) -> list[str]:
    lines = [
        "| crowd | method | accuracy before / after | ECE before / after | ECE in 0.6-0.9 before / after |"
        " conf − acc in 0.6-0.9 before / after (items) | after's gap, crowd by crowd |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in [*CROWDS, *DIFFICULTY]:
        planted = crowds(name, size, seeds)
        for method, pair in methods.items():
            cells = []
            for fit in pair:
                conf, ok = [], []
                for c in planted:
                    r = fit(c.judgments)
                    conf.append(r.confidence)
                    ok.append((r.labels == c.truth).astype(float))
                confidence, correct = np.concatenate(conf), np.concatenate(ok)
                band = (confidence >= 0.6) & (confidence < 0.9)
                gap = 100 * (confidence[band].mean() - correct[band].mean()) if band.any() else float("nan")
                in_band = ece(confidence, correct, 0.6, 0.9)
                cells.append((100 * correct.mean(), ece(confidence, correct), in_band, gap, int(band.sum())))
            (a0, e0, b0, g0, _), (a1, e1, b1, g1, n1) = cells
            lo, hi = gap_range(conf, ok)
            lines.append(
                f"| {name} | {method} | {a0:.2f} / {a1:.2f} | {e0:.2f} / {e1:.2f} | {b0:.2f} / {b1:.2f} |"
                f" {g0:+.2f} / {g1:+.2f} ({n1}) | {lo:+.2f} to {hi:+.2f} |"
            )
            print(lines[-1], flush=True)
    return lines


def gap_range(confidence: list[np.ndarray], correct: list[np.ndarray]) -> tuple[float, float]:
    """The lowest and highest signed gap in the 0.6-0.9 band over the crowds one by one."""
    gaps = []
    for conf, ok in zip(confidence, correct, strict=True):
        band = (conf >= 0.6) & (conf < 0.9)
        if band.any():
            gaps.append(100 * (conf[band].mean() - ok[band].mean()))
    return (min(gaps), max(gaps)) if gaps else (float("nan"), float("nan"))


def ties(size: int, seeds: list[int]) -> list[str]:
    """Majority-vote accuracy on the tied items when the commonest class is the last."""
    lines = [
        "| crowd | tied items | right before (lowest index) | right after (class prior) |",
        "|---|---:|---:|---:|",
    ]
    for name in ("prior_last", "hard"):
        n = right0 = right1 = 0
        for seed in seeds:
            c = generate(CROWDS[name], size, seed)
            r0, r1 = before.MajorityVote().fit(c.judgments), MajorityVote().fit(c.judgments)
            tied = r1.ties
            n += int(tied.sum())
            right0 += int((r0.labels[tied] == c.truth[tied]).sum())
            right1 += int((r1.labels[tied] == c.truth[tied]).sum())
        lines.append(f"| {name} | {n} | {100 * right0 / max(n, 1):.1f}% | {100 * right1 / max(n, 1):.1f}% |")
        print(lines[-1], flush=True)
    return lines


def gold(draws: int) -> list[str]:
    """Weighted vote with 2% of items as gold against none, on a sparse crowd (20 answers per worker)."""
    sparse = Preset(judgments_per_item=(3, 3), answers_per_worker=20)
    lines = [
        "| weighted vote | before: Δ accuracy with gold | draws worse | after: Δ accuracy with gold | draws worse |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode in ("majority", "default"):
        deltas: dict[str, list[float]] = {"before": [], "after": []}
        for seed in range(1000, 1000 + draws):
            c = generate(sparse, 6000, seed)
            rng = np.random.default_rng(seed)
            g = rng.choice(c.judgments.n_items, size=c.judgments.n_items // 50, replace=False)
            rest = np.setdiff1d(np.arange(c.judgments.n_items), g)
            for when, cls in (("before", before.WeightedMajorityVote), ("after", WeightedMajorityVote)):
                vote = cls(unknown_skill=mode)
                plain = vote.fit(c.judgments).labels[rest] == c.truth[rest]
                golden = vote.fit(c.judgments, gold=(g, c.truth[g])).labels[rest] == c.truth[rest]
                deltas[when].append(100 * (golden.mean() - plain.mean()))
        d0, d1 = np.array(deltas["before"]), np.array(deltas["after"])
        lines.append(
            f"| unknown_skill={mode!r} | {d0.mean():+.2f} | {int((d0 < 0).sum())}/{draws} | "
            f"{d1.mean():+.2f} | {int((d1 < 0).sum())}/{draws} |"
        )
        print(lines[-1], flush=True)
    return lines


QUICK_SEEDS = 4
FULL_SEEDS = 12


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SEEDS} crowds per preset, not {FULL_SEEDS}"
    )
    parser.add_argument("--seeds", type=int, help="crowds per preset (seeds 1000 and up)")
    parser.add_argument(
        "--before",
        choices=("e0126f1", "difficulty"),
        default="e0126f1",
        help="what 'before' is: the library at e0126f1, or DS and one-coin with item_difficulty=False",
    )
    args = parser.parse_args()
    count = args.seeds or (QUICK_SEEDS if args.quick else FULL_SEEDS)
    seeds = list(range(1000, 1000 + count))
    if args.before == "difficulty":
        out = calibration(100_000, seeds, DIFFICULTY_METHODS)
    else:
        out = [*calibration(100_000, seeds, METHODS), "", *ties(100_000, seeds), "", *gold(20)]
    print("\n" + "\n".join(out))


if __name__ == "__main__":
    main()
