"""How far a first label can be trusted (issue 13: the first label is the final one): the
labels `dollar.py`'s server rule (`served_lc_fresh_floor1`; `served_lc_floor1` before mv13c) emits between passes, (1) by the
judgments behind them, whether the last judge's matrix came from a pass (else its quiz),
and confidence bin: the reliability of their confidence; (2) by the fifth of the job in
which they were emitted: how far they fall below the final labels of the same items.

    nice -n 10 .venv/bin/python bench/consolidation/first_labels.py                 # hard, t=0.7, ~1 min
    nice -n 10 .venv/bin/python bench/consolidation/first_labels.py --strength 0    # the rule before cal13b
    nice -n 10 .venv/bin/python bench/consolidation/first_labels.py --quiz-prior     # quiz records before cal13d

`--strength 0` labels with the pass's matrices as fitted (the server before cal13b, up to
open items' stored posteriors: the pass's own then, the kept model's now). `--quiz-prior` labels
a judge without a pass fit by its quiz record shrunk towards 0.7 as if from 2 answers (the
server before cal13d), not towards the pool's quiz accuracy (`gate.gold_pool`).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation import dollar, dollar_job
from bench.consolidation.dollar_job import CROWDS, FirstLabels, Job
from labelwire.server.consolidation import JudgmentPolicy

BINS = (0.0, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crowds", nargs="*", choices=list(CROWDS), default=["hard"])
    parser.add_argument("--targets", type=float, nargs="*", default=[0.7])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument(
        "--strength", type=float, default=dollar.STRENGTH, help="0: the pass's matrices as fitted"
    )
    parser.add_argument(
        "--quiz-prior", action="store_true", help="quiz records shrunk towards 0.7 (before cal13d)"
    )
    args = parser.parse_args()
    dollar.STRENGTH = max(args.strength, 1e-9)
    dollar_job.POOLED_QUIZ = not args.quiz_prior
    for name in args.crowds:
        for target in args.targets:
            emitted, by_time, outcomes = [], [], []
            for seed in range(5000, 5000 + args.seeds):
                job, record = Job(CROWDS[name], args.items, seed), FirstLabels()
                outcomes.append(dollar.simulate(job, JudgmentPolicy(1, 6, target), "served_lc_fresh", record))
                assert record.first is not None and record.final is not None
                total = max(r[4] for r in record.rows)
                for item, judged, conf, fitted, at in record.rows:
                    right, final_right = (
                        record.first[item] == job.truth[item],
                        record.final[item] == job.truth[item],
                    )
                    emitted.append((judged, conf, right, fitted))
                    by_time.append((min(int(5 * at / (total + 1)), 4), right, final_right))
            _reliability(name, target, np.array(emitted, dtype=np.float64))
            _over_time(name, target, np.array(by_time, dtype=np.float64), args.items * args.seeds)
            print(
                f"{name} t={target}: budget {100 * np.mean([o.budget for o in outcomes]):.1f}%, first "
                f"{100 * np.mean([o.first_accuracy for o in outcomes]):.2f}%, final "
                f"{100 * np.mean([o.final_accuracy for o in outcomes]):.2f}%\n",
                flush=True,
            )


def _reliability(name: str, target: float, rows: np.ndarray) -> None:
    print(
        f"| {name} t={target} | judgments | skill from | confidence | labels | mean confidence % | right % | gap pp |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|")
    for judged, label in ((1, "1"), (2, "2"), (3, "3+")):
        on = rows[:, 0] == judged if judged < 3 else rows[:, 0] >= judged
        for source, fitted in (("quiz", 0.0), ("pass", 1.0)):
            for low, high in itertools.pairwise(BINS):
                cell = rows[on & (rows[:, 3] == fitted) & (rows[:, 1] >= low) & (rows[:, 1] < high)]
                if len(cell) < 10:
                    continue
                conf, right = 100 * cell[:, 1].mean(), 100 * cell[:, 2].mean()
                print(
                    f"| | {label} | {source} | {low:.2f}-{min(high, 1):.2f} | {len(cell)} "
                    f"| {conf:.1f} | {right:.1f} | {conf - right:+.1f} |"
                )
    for source, fitted in (("quiz", 0.0), ("pass", 1.0)):
        cell = rows[rows[:, 3] == fitted]
        if len(cell):
            conf, right = 100 * cell[:, 1].mean(), 100 * cell[:, 2].mean()
            print(
                f"| all | any | {source} | any | {len(cell)} | {conf:.1f} | {right:.1f} | {conf - right:+.1f} |"
            )


def _over_time(name: str, target: float, rows: np.ndarray, items: int) -> None:
    print(
        f"\n| {name} t={target}: fifth of the job | labels | first right % | final right % | share of first − final pp |"
    )
    print("|---|---:|---:|---:|---:|")
    for fifth in range(5):
        cell = rows[rows[:, 0] == fifth]
        if len(cell):
            gap = 100 * (cell[:, 1].sum() - cell[:, 2].sum()) / items
            print(
                f"| {fifth + 1} | {len(cell)} | {100 * cell[:, 1].mean():.1f} | {100 * cell[:, 2].mean():.1f} | {gap:+.2f} |"
            )


if __name__ == "__main__":
    main()
