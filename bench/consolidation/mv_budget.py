"""A majority-vote job's budget at fixed-5 majority vote's accuracy, measured sharply enough to
compare stopping and routing rules (issue 13, wanted 2: at most 50% of fixed-5's judgments).

    nice -n 10 .venv/bin/python bench/consolidation/mv_budget.py --seeds 8 --items 1500 --modes prior_all agree_all

`dollar_mv.py` reports, per seed, the cheapest grid target that reaches fixed-5's accuracy, so a
crowd whose budget curve jumps between two targets (prior_last: a lone vote for the commonest
class settles between 0.85 and 0.9) is charged the upper step, and fixed-5's own accuracy, drawn
once, moves the goal by 0.8 points of sampling noise. Here, per seed:

- the goal is fixed-5 majority vote's accuracy averaged over `--draws` independent draws of
  five judgments per item on the same crowd (items, workers, quiz);
- the budget is interpolated at that accuracy between the two grid targets either side of it
  (`dollar_job.interpolated`; mixing those two targets item by item buys it), on a grid of
  0.025;
- every mode runs on the same seeds, and each mode after the first is reported as its paired
  difference from the first (mean ± standard error over seeds, and on how many seeds it is
  cheaper), so the crowd's own difficulty cancels.

Workers must pass the quiz (`dollar_mv.quiz_gate`, 4 of 5) unless `--quiz-bar 0`; fixed-5 is
drawn from the same qualified workers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.dollar_job import CROWDS, Job, interpolated, se
from bench.consolidation.dollar_mv import MV_MODES, QUIZ_BAR, quiz_gate, simulate_mv
from labelwire.server.consolidation import JudgmentPolicy

GRID = (*(round(0.6 + 0.025 * n, 3) for n in range(16)), 0.99)
"""Targets 0.6 to 0.975 by 0.025, and 0.99: with the quiz bar fixed-5 reaches 93-97%."""


def job(crowd: str, items: int, seed: int, bar: int) -> Job:
    """The crowd of `seed`, quiz-gated at `bar` (0: everyone judges)."""
    made = Job(CROWDS[crowd], items, seed)
    if bar > 0:
        quiz_gate(made, bar)
    return made


def goal(crowd: str, items: int, seed: int, bar: int, draws: int) -> float:
    """Fixed-5 majority vote's accuracy on the crowd of `seed`, averaged over `draws` draws."""
    made = job(crowd, items, seed, bar)
    return float(np.mean([made.fixed()[0] for _ in range(draws)]))


def budgets(
    crowd: str,
    items: int,
    seeds: list[int],
    goals: list[float],
    mode: str,
    targets: list[float],
    bar: int,
    cap: int,
) -> tuple[list[float | None], list[tuple[float, float]]]:
    """Per seed, the interpolated budget at its goal; and per target the mean (budget, accuracy)."""
    curves = [
        [
            (o.budget, o.final_accuracy)
            for o in (
                simulate_mv(job(crowd, items, seed, bar), JudgmentPolicy(1, cap, t), mode) for t in targets
            )
        ]
        for seed in seeds
    ]
    per_seed = [interpolated(curve, g) for curve, g in zip(curves, goals, strict=True)]
    means = [
        (float(np.mean([c[n][0] for c in curves])), float(np.mean([c[n][1] for c in curves])))
        for n in range(len(targets))
    ]
    return per_seed, means


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=8, help="crowds per preset, from seed 5000")
    parser.add_argument("--draws", type=int, default=5, help="fixed-5 draws averaged into each seed's goal")
    parser.add_argument("--targets", type=float, nargs="*", default=list(GRID))
    parser.add_argument("--crowds", nargs="*", choices=list(CROWDS), default=list(CROWDS))
    parser.add_argument("--modes", nargs="*", choices=MV_MODES, default=["prior_all", "agree_all"])
    parser.add_argument("--quiz-bar", type=int, default=QUIZ_BAR, help="quiz answers of 5 to judge (0: none)")
    parser.add_argument("--cap", type=int, default=6, help="judgments an item may get at most")
    parser.add_argument(
        "--curves", action="store_true", help="print each mode's mean budget and accuracy per target"
    )
    args = parser.parse_args()
    seeds = list(range(5000, 5000 + args.seeds))
    for crowd in args.crowds:
        goals = [goal(crowd, args.items, s, args.quiz_bar, args.draws) for s in seeds]
        print(
            f"{crowd}: fixed-5 MV {100 * np.mean(goals):.2f} ± {100 * se(goals):.2f}% "
            f"({args.items} items, seeds {seeds[0]}-{seeds[-1]}, quiz bar {args.quiz_bar}, cap {args.cap})",
            flush=True,
        )
        base: list[float | None] = []
        for mode in args.modes:
            per_seed, means = budgets(
                crowd, args.items, seeds, goals, mode, args.targets, args.quiz_bar, args.cap
            )
            reached = [b for b in per_seed if b is not None]
            line = (
                f"  {mode}: budget {100 * np.mean(reached):.1f} ± {100 * se(reached):.1f}%"
                if reached
                else f"  {mode}: -"
            )
            line += (
                f" (max {100 * max(reached):.1f}%, {len(reached)}/{len(seeds)} reached)" if reached else ""
            )
            if base:
                pairs = [
                    (b - a) for a, b in zip(base, per_seed, strict=True) if a is not None and b is not None
                ]
                if pairs:
                    line += (
                        f"; minus {args.modes[0]}: {100 * np.mean(pairs):+.1f} ± {100 * se(pairs):.1f} pp, "
                        f"cheaper on {sum(p < 0 for p in pairs)}/{len(pairs)} seeds"
                    )
            else:
                base = per_seed
            print(line, flush=True)
            print(
                "    per seed: " + " ".join("-" if b is None else f"{100 * b:.1f}" for b in per_seed),
                flush=True,
            )
            if args.curves:
                print(
                    "    curve: "
                    + " ".join(
                        f"{t}:{100 * b:.1f}/{100 * a:.2f}"
                        for t, (b, a) in zip(args.targets, means, strict=True)
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
