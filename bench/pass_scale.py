"""Time and peak memory of one job-level consolidation pass as the server runs it, by size.

    python bench/pass_scale.py [--sizes 100000 1000000 3000000]

`bench/consolidation/memory.py` measures the consolidation library on numpy arrays. The
server's pass (`Core._pass`) does more: it reads every counted judgment of the job as a
database row (`tx.pass_input`), decodes each answer's JSON and builds the arrays, then fits.
Here each size gets a fresh subprocess and a SQLite file holding only the columns
`pass_input` returns (the job's three-class sentiment crowd of `bench/consolidation/crowd.py`,
3 judgments per item, with 2% gold); the child reads the rows exactly as `pass_input` does and
calls `passes.compute` with a Dawid-Skene job spec. It prints the seconds and CPU seconds of
the read and of the pass, and the process's peak RSS: the figures `docs/scaling.md` projects
from. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLASSES = ("positive", "negative", "neutral")
QUERY = (
    "SELECT j.item_id, j.worker_id, j.answer, i.is_gold, i.gold, i.state, i.label_sequence"
    " FROM judgments j JOIN items i ON i.id = j.item_id WHERE j.job_id = ? AND j.excluded = 0"
)


def build(path: str, size: int, seed: int = 1) -> None:
    """A database with `size` judgments of one job (rows as the server stores them)."""
    rng = np.random.default_rng(seed)
    n_items, n_workers = size // 3, max(size // 300, 10)
    truth = rng.integers(0, 3, n_items)
    skill = rng.uniform(0.55, 0.95, n_workers)
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, is_gold INTEGER, gold TEXT, state INTEGER,"
        " label_sequence INTEGER);"
        "CREATE TABLE judgments (id INTEGER PRIMARY KEY, job_id INTEGER, item_id INTEGER, worker_id INTEGER,"
        " answer TEXT, excluded INTEGER);"
        "CREATE INDEX judgments_job ON judgments (job_id, item_id);"
    )
    answers = [json.dumps({"classification": {"class_name": c}}) for c in CLASSES]
    gold = rng.random(n_items) < 0.02
    conn.executemany(
        "INSERT INTO items VALUES (?, ?, ?, 1, ?)",
        ((i + 1, int(gold[i]), answers[truth[i]] if gold[i] else None, i + 1) for i in range(n_items)),
    )
    workers = rng.integers(0, n_workers, (n_items, 3))
    right = rng.random((n_items, 3)) < skill[workers]
    wrong = (truth[:, None] + rng.integers(1, 3, (n_items, 3))) % 3
    given = np.where(right, truth[:, None], wrong)
    conn.executemany(
        "INSERT INTO judgments (job_id, item_id, worker_id, answer, excluded) VALUES (1, ?, ?, ?, 0)",
        ((i + 1, int(workers[i, k]) + 1, answers[given[i, k]]) for i in range(n_items) for k in range(3)),
    )
    conn.commit()
    conn.close()


def child(path: str) -> None:
    from labelwire.server.domain.model import JobSpec, LabelClass
    from labelwire.server.labels import passes
    from labelwire.server.store.rows import PassInputRow, maker

    spec = JobSpec(
        display_name="pass scale",
        task_type="classification",
        classes=tuple(LabelClass(c) for c in CLASSES),
        task_config={},
        consolidation_method="dawid_skene",
    )
    conn = sqlite3.connect(path)
    start, cpu = time.perf_counter(), time.process_time()
    rows = list(map(maker(PassInputRow), conn.execute(QUERY, (1,)).fetchall()))
    read = (time.perf_counter() - start, time.process_time() - cpu)
    rss_rows = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    result = passes.compute(spec, rows)
    fit = (time.perf_counter() - start, time.process_time() - cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "judgments": len(rows), "labels": len(result.labels),
        "read_s": round(read[0], 2), "read_cpu_s": round(read[1], 2),
        "pass_s": round(fit[0], 2), "pass_cpu_s": round(fit[1], 2),
        "rss_after_read_mb": round(rss_rows), "peak_rss_mb": round(peak),
    }))  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000])
    args = parser.parse_args()
    print(
        "| judgments | read s (CPU) | pass s (CPU) | RSS after read MB | peak RSS MB | peak bytes per judgment |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="labelwire-pass-scale-") as workdir:
            path = os.path.join(workdir, "pass.db")
            build(path, size)
            out = json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--child", path], capture_output=True, text=True, check=True
                ).stdout
            )
        per = out["peak_rss_mb"] * 2**20 / out["judgments"]
        print(
            f"| {out['judgments']:,} | {out['read_s']} ({out['read_cpu_s']}) | {out['pass_s']} ({out['pass_cpu_s']})"
            f" | {out['rss_after_read_mb']} | {out['peak_rss_mb']} | {per:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
