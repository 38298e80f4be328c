"""Ours against crowd-kit's Dawid-Skene, fitted alternately in one process on the same crowd.

    nice -n 10 .venv/bin/python bench/consolidation/paired.py baseline spammers   # ~3 min busy

On a shared machine the load changes between `run.py`'s subprocesses; alternating the two fits
three times and taking the ratio of the medians cancels most of that. Each fit is timed twice:
wall clock, and the CPU time of this process (`time.process_time`), which a busy machine
inflates far less (it still slows memory access); both ratios are printed.
Run it with `OPENBLAS_NUM_THREADS=1` so that neither side's CPU time counts BLAS threads
spinning.
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

REPEATS = 3


def main() -> None:
    warnings.filterwarnings("ignore")
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

    for preset in sys.argv[1:] or ["baseline", "spammers"]:
        if preset not in PRESETS:
            raise SystemExit(f"unknown preset {preset!r}; one of {sorted(PRESETS)}")
        j = generate(preset, 1_000_000, 1).judgments
        frame = pd.DataFrame({"task": j.items, "worker": j.workers, "label": j.answers})
        ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
        for _ in range(REPEATS):
            wall, cpu = time.perf_counter(), time.process_time()
            DawidSkene().fit(j)
            ours.append(time.perf_counter() - wall)
            ours_cpu.append(time.process_time() - cpu)
            wall, cpu = time.perf_counter(), time.process_time()
            CrowdKitDawidSkene().fit_predict(frame)
            theirs.append(time.perf_counter() - wall)
            theirs_cpu.append(time.process_time() - cpu)
        print(
            f"{preset}: wall ours {_rounded(ours)} s, crowd-kit {_rounded(theirs)} s, "
            f"ratio of medians {np.median(theirs) / np.median(ours):.1f}x; "
            f"CPU ours {_rounded(ours_cpu)} s, crowd-kit {_rounded(theirs_cpu)} s, "
            f"ratio of medians {np.median(theirs_cpu) / np.median(ours_cpu):.1f}x",
            flush=True,
        )


def _rounded(times: list[float]) -> list[float]:
    return [round(x, 2) for x in times]


if __name__ == "__main__":
    main()
