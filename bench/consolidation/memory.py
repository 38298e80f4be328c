"""Peak memory and time of each of our methods on one large crowd (10M judgments by default).

    .venv/bin/python bench/consolidation/memory.py [--size 10000000] [--methods DS,OneCoin]

CPU seconds (all threads of the fit) move much less with the machine's other load than
seconds do. Each method runs in a fresh subprocess that loads the saved judgments; numpy reports its
allocations to tracemalloc, which gives the peak memory the fit itself allocates on top of the
judgments (three int64 columns, 240 MB at 10M). The process's peak RSS includes loading them.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.crowd import generate
from bench.consolidation.run import OURS
from labelwire.server.consolidation import Judgments


def child(data_path: str, method: str) -> None:
    data = np.load(data_path)
    judgments = Judgments(
        items=data["items"],
        workers=data["workers"],
        answers=data["answers"],
        n_items=int(data["n_items"]),
        n_workers=int(data["n_workers"]),
        n_classes=int(data["n_classes"]),
    )
    tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = OURS[method](judgments)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    allocated = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    accuracy = float(np.mean(result.labels == data["truth"]))
    print(
        f"{method} {seconds:.2f} {cpu:.2f} {allocated / 2**20:.0f} {peak / 1024:.0f} {accuracy:.4f} {result.n_iter}"
    )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--preset", default="baseline")
    parser.add_argument(
        "--methods", default=",".join(OURS), help=f"comma-separated, of {', '.join(OURS)} (default: all)"
    )
    args = parser.parse_args()
    methods = args.methods.split(",")
    if unknown := set(methods) - set(OURS):
        parser.error(f"unknown methods {sorted(unknown)}; choose from {', '.join(OURS)}")

    crowd = generate(args.preset, args.size, seed=1)
    j = crowd.judgments
    with tempfile.TemporaryDirectory(prefix="labelwire-memory-") as workdir:
        data_path = os.path.join(workdir, "crowd.npz")
        np.savez(
            data_path, items=j.items, workers=j.workers, answers=j.answers, truth=crowd.truth,
            n_items=j.n_items, n_workers=j.n_workers, n_classes=j.n_classes,
        )  # fmt: skip
        size = len(j)
        del crowd, j
        print(f"{size:,} judgments, preset {args.preset}\n")
        print(
            "| method | seconds | CPU seconds | peak allocated by the fit (MB) | peak RSS of the process (MB)"
            " | accuracy | EM iterations |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for method in methods:
            out = subprocess.run(
                [sys.executable, __file__, "--child", data_path, method],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            name, seconds, cpu, loaded, peak, accuracy, n_iter = out
            print(
                f"| {name} | {seconds} | {cpu} | {loaded} | {peak} | {100 * float(accuracy):.2f} | {n_iter} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
