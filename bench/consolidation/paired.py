"""Ours against crowd-kit's Dawid-Skene, fitted alternately in one process on the same crowd.

    nice -n 10 .venv/bin/python bench/consolidation/paired.py baseline spammers   # ~3 min busy

On a shared machine the load changes between `run.py`'s subprocesses; alternating the two fits
three times and taking the ratio of the medians cancels most of that.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.crowd import PRESETS, generate
from labelwire.server.consolidation import DawidSkene


def main() -> None:
    warnings.filterwarnings("ignore")
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

    for preset in sys.argv[1:] or ["baseline", "spammers"]:
        if preset not in PRESETS:
            raise SystemExit(f"unknown preset {preset!r}; one of {sorted(PRESETS)}")
        j = generate(preset, 1_000_000, 1).judgments
        frame = pd.DataFrame({"task": j.items, "worker": j.workers, "label": j.answers})
        ours, theirs = [], []
        for _ in range(3):
            start = time.perf_counter()
            DawidSkene().fit(j)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            CrowdKitDawidSkene().fit_predict(frame)
            theirs.append(time.perf_counter() - start)
        print(
            f"{preset}: ours {[round(x, 2) for x in ours]} s, crowd-kit {[round(x, 2) for x in theirs]} s, "
            f"ratio of medians {np.median(theirs) / np.median(ours):.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
