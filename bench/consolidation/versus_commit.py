"""This tree's Dawid-Skene against a commit's, fitted alternately in one process on the same crowds.

    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/consolidation/versus_commit.py 4e6c9ba baseline spammers

For a change meant to speed the fit up without changing its answers: the commit's
`dawid_skene.py` is loaded beside this tree's (both use this tree's `em.py` and `base.py`, so
a change there is not part of "before"), each fitted five times per crowd alternately on a
1M-judgment crowd, and the medians of CPU time are compared, with each side's accuracy, EM
iterations and how many labels differ.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.crowd import PRESETS, generate
from labelwire.server.consolidation import DawidSkene

ROOT = Path(__file__).resolve().parents[2]
REPEATS = 5


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    commit, presets = sys.argv[1], sys.argv[2:] or ["baseline", "spammers"]
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:server/consolidation/dawid_skene.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(f"/tmp/dawid_skene_{commit}.py")
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("dawid_skene_before", path)
    assert spec is not None and spec.loader is not None
    before = importlib.util.module_from_spec(spec)
    sys.modules["dawid_skene_before"] = before
    spec.loader.exec_module(before)
    for preset in presets:
        if preset not in PRESETS:
            raise SystemExit(f"unknown preset {preset!r}; one of {sorted(PRESETS)}")
        crowd = generate(preset, 1_000_000, 1)
        old: list[float] = []
        new: list[float] = []
        for _ in range(REPEATS):
            cpu = time.process_time()
            was = before.DawidSkene().fit(crowd.judgments)
            old.append(time.process_time() - cpu)
            cpu = time.process_time()
            now = DawidSkene().fit(crowd.judgments)
            new.append(time.process_time() - cpu)
        print(
            f"{preset}: CPU before {np.median(old):.3f} s ({was.n_iter} iterations, accuracy "
            f"{100 * np.mean(was.labels == crowd.truth):.3f}%), after {np.median(new):.3f} s "
            f"({now.n_iter} iterations, {100 * np.mean(now.labels == crowd.truth):.3f}%), "
            f"{np.median(old) / np.median(new):.2f}x; {int(np.sum(was.labels != now.labels))} labels differ, "
            f"confidences by at most {np.abs(was.confidence - now.confidence).max():.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
