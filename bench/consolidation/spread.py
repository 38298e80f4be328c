"""Outlier annotations and spread (issue 13, item 5): which workers drift, which items are hard.

    nice -n 10 .venv/bin/python bench/consolidation/spread.py          # a few seconds

Key points clicked by a pool: each item has its own difficulty (the spread of good clicks,
1 to 8 px), every worker strays now and then (2% of clicks anywhere in the image), and a
tenth of the workers drift (every click 3 item-sigmas off in a direction of their own).
`worker_outliers` (outlier rate shrunk towards the pool's, drifting at 3x) is compared in the
same run with the unshrunk rate under the same rule, the baseline a report without shrinkage
would give. Crowds are seeded from 7000.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labelwire.server.consolidation import RobustCentre, worker_outliers


def crowd(
    seed: int, n_items: int = 20_000, n_workers: int = 2000, per_item: int = 5
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(1.0, 8.0, n_items)
    activity = rng.pareto(1.5, n_workers) + 1  # many workers with few clicks, a few with many
    drifting = rng.random(n_workers) < 0.1
    direction = rng.normal(size=(n_workers, 2))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    items = np.repeat(np.arange(n_items), per_item)
    workers = np.concatenate(
        [
            rng.choice(n_workers, size=per_item, replace=False, p=activity / activity.sum())
            for _ in range(n_items)
        ]
    )
    truth = rng.uniform(0, 1000, (n_items, 2))
    clicks = truth[items] + rng.normal(size=(items.size, 2)) * difficulty[items, None]
    clicks += drifting[workers, None] * 3 * difficulty[items, None] * direction[workers]
    stray = rng.random(items.size) < 0.02
    clicks[stray] = rng.uniform(0, 1000, (int(stray.sum()), 2))
    return {
        "items": items,
        "workers": workers,
        "clicks": clicks,
        "drifting": drifting,
        "difficulty": difficulty,
    }


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(np.float64)


def main() -> None:
    print(
        "| seed | workers | drifting | shrunk: found | shrunk: false | raw: found | raw: false | spread vs difficulty (Spearman) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed in (7000, 7001, 7002):
        c = crowd(seed)
        result = RobustCentre().fit(c["items"], c["clicks"])
        n_workers = c["drifting"].size
        report = worker_outliers(result, c["items"], c["workers"], n_workers)
        raw_rate = report.flagged / np.maximum(report.checked, 1)
        raw = (raw_rate >= 3 * report.pool_rate) & (report.checked > 0)
        d = c["drifting"]
        rho = np.corrcoef(ranks(result.spread), ranks(c["difficulty"]))[0, 1]
        print(
            f"| {seed} | {n_workers} | {int(d.sum())} | {int((report.drifting & d).sum())} "
            f"({100 * (report.drifting & d).sum() / d.sum():.0f}%) | {int((report.drifting & ~d).sum())} | "
            f"{int((raw & d).sum())} ({100 * (raw & d).sum() / d.sum():.0f}%) | {int((raw & ~d).sum())} | {rho:.2f} |"
        )


if __name__ == "__main__":
    main()
