"""How far a first label's confidence can be trusted (issue 13: the first label is the final
one): the reliability of the labels `dollar.py`'s server rule emits between passes, by the
number of judgments behind them, where the last judge's skill came from (its quiz or a pass),
and confidence bin.

    nice -n 10 .venv/bin/python bench/consolidation/first_labels.py --crowds hard --targets 0.7
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.dollar import simulate
from bench.consolidation.dollar_job import CROWDS, Job
from labelwire.server.consolidation import JudgmentPolicy

BINS = (0.0, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crowds", nargs="*", choices=list(CROWDS), default=["hard"])
    parser.add_argument("--targets", type=float, nargs="*", default=[0.7])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    print(
        "| crowd | target | judgments | skill from | confidence | labels | mean confidence % | accuracy % | gap pp |"
    )
    print("|---|---:|---|---|---|---:|---:|---:|---:|")
    for name in args.crowds:
        for target in args.targets:
            record: list[tuple[int, float, bool, bool]] = []
            for seed in range(5000, 5000 + args.seeds):
                simulate(
                    Job(CROWDS[name], args.items, seed), JudgmentPolicy(1, 6, target), "served_lc", record
                )
            rows = np.array(record, dtype=np.float64)
            for judged, label in ((1, "1"), (2, "2"), (3, "3+")):
                on = rows[:, 0] == judged if judged < 3 else rows[:, 0] >= judged
                for source, fitted in (("quiz", 0.0), ("pass", 1.0)):
                    for low, high in itertools.pairwise(BINS):
                        cell = rows[on & (rows[:, 3] == fitted) & (rows[:, 1] >= low) & (rows[:, 1] < high)]
                        if len(cell) < 10:
                            continue
                        conf, right = 100 * cell[:, 1].mean(), 100 * cell[:, 2].mean()
                        print(
                            f"| {name} | {target} | {label} | {source} | {low:.2f}-{min(high, 1):.2f} | {len(cell)} "
                            f"| {conf:.1f} | {right:.1f} | {conf - right:+.1f} |",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
