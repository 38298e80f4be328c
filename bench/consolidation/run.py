"""Compares our consolidation with crowd-kit on the same synthetic crowds, and simulates dynamic judgments.

    .venv/bin/python bench/consolidation/run.py            # full run, about 11 minutes on 2 cores
    .venv/bin/python bench/consolidation/run.py --quick    # 10k and 100k judgments, a minute or two

crowd-kit (`pip install crowd-kit==1.4.2 'scikit-learn<1.8'`) runs in a subprocess per crowd,
each method with its own time limit, so a method that would take an hour is reported as "did
not finish". Times
are the wall time of the fit alone: our `fit` on a built `Judgments`, crowd-kit's `fit_predict` on
a built DataFrame. Accuracy is against the planted truth.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.consolidation.crowd import PRESETS, Crowd, Preset, generate, worker_confusions
from labelwire.server.consolidation import (
    GLAD,
    ClassificationResult,
    DawidSkene,
    JudgmentPolicy,
    Judgments,
    MajorityVote,
    OneCoinDawidSkene,
    WeightedMajorityVote,
)
from labelwire.server.consolidation.base import IntArray

OURS: dict[str, Callable[[Judgments], ClassificationResult]] = {
    "MV": lambda j: MajorityVote().fit(j),
    "Wawa": lambda j: WeightedMajorityVote(unknown_skill="majority").fit(j),
    "DS": lambda j: DawidSkene().fit(j),
    "OneCoin": lambda j: OneCoinDawidSkene().fit(j),
    "GLAD": lambda j: GLAD().fit(j),
}
CROWDKIT = {
    "MV": "MajorityVote",
    "Wawa": "Wawa",
    "DS": "DawidSkene",
    "OneCoin": "OneCoinDawidSkene",
    "GLAD": "GLAD",
}

DYNAMIC_POOLS = {
    "baseline": PRESETS["baseline"],
    "skilled": Preset(accuracy=(8.0, 2.0)),
}
"""Worker pools for the dynamic-judgment simulation: mean accuracy 0.7 and 0.8 over 4 classes."""
DYNAMIC_TARGETS = {"baseline": [0.9, 0.93, 0.95], "skilled": [0.97, 0.98, 0.985]}


@dataclass
class Row:
    preset: str
    size: int
    method: str
    ours_accuracy: float
    ours_confidence: float
    ours_seconds: float
    crowdkit_accuracy: float | None = None
    crowdkit_seconds: float | None = None
    crowdkit_note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def crowdkit_worker(data_path: str, out_dir: str, methods: list[str]) -> None:
    """Runs in the subprocess: crowd-kit methods one after the other on one saved crowd.

    Each result is written (atomically, by rename) as soon as it exists, so the parent can
    time each method out on its own and keep what finished before.
    """
    import warnings

    warnings.filterwarnings("ignore")
    import crowdkit.aggregation as aggregation
    import pandas as pd

    data = np.load(data_path)
    frame = pd.DataFrame({"task": data["items"], "worker": data["workers"], "label": data["answers"]})
    Path(out_dir, "ready").touch()
    for method in methods:
        model = getattr(aggregation, CROWDKIT[method])()
        start = time.perf_counter()
        predicted = model.fit_predict(frame)
        elapsed = time.perf_counter() - start
        labels = np.full(int(data["n_items"]), -1, dtype=np.int64)
        labels[predicted.index.to_numpy(dtype=np.int64)] = predicted.to_numpy(dtype=np.int64)
        np.savez(os.path.join(out_dir, "partial.npz"), labels=labels, seconds=elapsed)
        os.replace(os.path.join(out_dir, "partial.npz"), os.path.join(out_dir, f"{method}.npz"))


def run_crowdkit(
    methods: list[str], crowd: Crowd, timeout: float, workdir: str
) -> dict[str, tuple[float | None, float | None, str]]:
    """crowd-kit's accuracy, seconds and a note per method; each method gets `timeout` seconds."""
    j = crowd.judgments
    out_dir = tempfile.mkdtemp(dir=workdir)
    data_path = os.path.join(out_dir, "crowd.npz")
    np.savez(data_path, items=j.items, workers=j.workers, answers=j.answers, n_items=j.n_items)
    command = [sys.executable, __file__, "--crowdkit-worker", data_path, out_dir, *methods]
    results: dict[str, tuple[float | None, float | None, str]] = {}
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        if not wait_for(Path(out_dir, "ready"), process, 300.0):
            process.kill()
        for method in methods:
            path = Path(out_dir, f"{method}.npz")
            if process.poll() is None or path.exists():
                wait_for(path, process, timeout)
            if path.exists():
                result = np.load(path)
                results[method] = (
                    float(np.mean(result["labels"] == crowd.truth)),
                    float(result["seconds"]),
                    "",
                )
            elif process.poll() is None:
                process.kill()
                results[method] = (None, None, f"did not finish in {timeout:.0f} s")
            else:
                error = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
                results[method] = (None, None, "not run" if "Killed" in error or not error else "failed")
    return results


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            return path.exists()
        time.sleep(0.02)
    return True


def run_ours(method: str, crowd: Crowd, repeats: int) -> tuple[float, float, float]:
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = OURS[method](crowd.judgments)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return float(np.mean(result.labels == crowd.truth)), float(result.confidence.mean()), best


def seeds_for(size: int, seed: int) -> list[int]:
    """Several crowds at the small size, where one crowd's accuracy is noisy to a few tenths of a point."""
    return list(range(seed, seed + 3)) if size <= 20_000 else [seed]


def compare(
    presets: list[str], sizes: list[int], ours_only: list[int], timeout: float, seed: int, methods: list[str]
) -> list[Row]:
    """One row per (size, preset, method), averaged over the crowds of that size.

    A crowd-kit method that runs out of time on one preset is not run on the other presets of
    that size: it would only spend the same timeout again.
    """
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="labelwire-bench-") as workdir:
        for size in sizes + ours_only:
            gave_up: dict[str, str] = {}
            for preset in presets:
                crowdkit = size not in ours_only
                runs = [
                    measure(preset, generate(preset, size, s), methods, crowdkit, gave_up, timeout, workdir)
                    for s in seeds_for(size, seed)
                ]
                for method in methods:
                    row = average([run[method] for run in runs])
                    rows.append(row)
                    print(format_progress(row), flush=True)
                    if row.crowdkit_note.startswith("did not finish"):
                        gave_up.setdefault(method, f"not run ({row.crowdkit_note} on {preset})")
    return rows


def measure(
    preset: str,
    crowd: Crowd,
    methods: list[str],
    with_crowdkit: bool,
    gave_up: dict[str, str],
    timeout: float,
    workdir: str,
) -> dict[str, Row]:
    """Our methods on one crowd, then crowd-kit's in one subprocess (bar those that gave up before)."""
    rows = {}
    for method in methods:
        accuracy, confidence, seconds = run_ours(
            method, crowd, repeats=3 if len(crowd.judgments) <= 100_000 else 1
        )
        rows[method] = Row(preset, len(crowd.judgments), method, accuracy, confidence, seconds)
    if not with_crowdkit:
        return rows
    for method, note in gave_up.items():
        rows[method].crowdkit_note = note
    attempted = [m for m in methods if m not in gave_up]
    for method, (ck_accuracy, ck_seconds, note) in run_crowdkit(attempted, crowd, timeout, workdir).items():
        rows[method].crowdkit_accuracy = ck_accuracy
        rows[method].crowdkit_seconds = ck_seconds
        rows[method].crowdkit_note = note
    return rows


def average(runs: list[Row]) -> Row:
    """Means over crowds; crowd-kit's figures only when it finished on every crowd."""
    first = runs[0]
    row = Row(
        first.preset,
        int(np.mean([r.size for r in runs])),
        first.method,
        float(np.mean([r.ours_accuracy for r in runs])),
        float(np.mean([r.ours_confidence for r in runs])),
        float(np.mean([r.ours_seconds for r in runs])),
        extra={"crowds": float(len(runs))},
    )
    notes = [r.crowdkit_note for r in runs if r.crowdkit_note]
    if notes:
        row.crowdkit_note = notes[0]
    elif all(r.crowdkit_accuracy is not None for r in runs):
        row.crowdkit_accuracy = float(np.mean([r.crowdkit_accuracy or 0.0 for r in runs]))
        row.crowdkit_seconds = float(np.mean([r.crowdkit_seconds or 0.0 for r in runs]))
    return row


def format_progress(row: Row) -> str:
    ck = row.crowdkit_note or (
        f"crowd-kit {row.crowdkit_accuracy:.4f} in {row.crowdkit_seconds:.2f}s"
        if row.crowdkit_accuracy is not None
        else ""
    )
    return (
        f"{row.size:>9} {row.preset:<12} {row.method:<8} ours {row.ours_accuracy:.4f} "
        f"(conf {row.ours_confidence:.4f}) in {row.ours_seconds:.3f}s  {ck}"
    )


def comparison_table(rows: list[Row]) -> str:
    lines = [
        "| judgments | preset | method | ours acc. | crowd-kit acc. | Δ pp | ours mean conf. | ours s | crowd-kit s | speed-up |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.crowdkit_accuracy is not None and r.crowdkit_seconds is not None:
            ck_acc = f"{100 * r.crowdkit_accuracy:.2f}"
            delta = f"{100 * (r.ours_accuracy - r.crowdkit_accuracy):+.2f}"
            ck_s = f"{r.crowdkit_seconds:.2f}"
            speed = f"{r.crowdkit_seconds / max(r.ours_seconds, 1e-9):.0f}x"
        else:
            ck_acc = r.crowdkit_note or "not run"
            delta = ck_s = speed = ""
        lines.append(
            f"| {r.size:,} | {r.preset} | {r.method} | {100 * r.ours_accuracy:.2f} | {ck_acc} | {delta} | "
            f"{100 * r.ours_confidence:.2f} | {r.ours_seconds:.3f} | {ck_s} | {speed} |"
        )
    return "\n".join(lines)


@dataclass
class DynamicRow:
    pool: str
    policy: JudgmentPolicy
    judgments_per_item: float
    budget_share: float
    accuracy: float
    fixed_accuracy: float


class SimulatedCrowd:
    """One pool of workers with planted matrices, answering items on request.

    Every request goes to a random worker who has not answered that item yet, as a
    dispatcher without routing would do.
    """

    def __init__(self, pool: str, n_items: int, seed: int) -> None:
        preset = DYNAMIC_POOLS[pool]
        self.rng = np.random.default_rng(seed)
        self.n_items, self.n_classes = n_items, preset.n_classes
        self.n_workers = max(n_items // 40, 50)
        self.confusion, _ = worker_confusions(preset, self.n_workers, self.rng)
        self.truth = self.rng.integers(0, self.n_classes, size=n_items)

    def ask(self, items: IntArray, taken: set[int]) -> tuple[IntArray, IntArray]:
        workers = self.rng.integers(0, self.n_workers, size=items.size)
        for _ in range(50):
            keys = (items * self.n_workers + workers).tolist()
            clash = np.fromiter((key in taken for key in keys), dtype=np.bool_, count=len(keys))
            if not clash.any():
                break
            workers[clash] = self.rng.integers(0, self.n_workers, size=int(clash.sum()))
        taken.update((items * self.n_workers + workers).tolist())
        cumulative = np.cumsum(self.confusion[workers, self.truth[items]], axis=1)
        answers = (self.rng.random(items.size)[:, None] > cumulative[:, :-1]).sum(axis=1)
        return workers.astype(np.int64), answers.astype(np.int64)

    def consolidate(
        self, items: list[IntArray], workers: list[IntArray], answers: list[IntArray]
    ) -> ClassificationResult:
        j = Judgments.from_lists(
            np.concatenate(items), np.concatenate(workers), np.concatenate(answers),
            n_classes=self.n_classes, n_items=self.n_items, n_workers=self.n_workers,
        )  # fmt: skip
        return DawidSkene().fit(j)

    def accuracy(self, result: ClassificationResult) -> float:
        return float(np.mean(result.labels == self.truth))

    def fixed(self, per_item: int) -> float:
        items = np.repeat(np.arange(self.n_items), per_item)
        workers, answers = self.ask(items, set())
        return self.accuracy(self.consolidate([items], [workers], [answers]))

    def dynamic(self, policy: JudgmentPolicy) -> tuple[float, float]:
        """(judgments per item, accuracy) when every round gives one more judgment to each item
        the policy still wants, then refits Dawid-Skene on everything so far, as the server would."""
        taken: set[int] = set()
        count = np.zeros(self.n_items, dtype=np.int64)
        confidence = np.zeros(self.n_items)
        items: list[IntArray] = []
        workers: list[IntArray] = []
        answers: list[IntArray] = []
        accuracy = 0.0
        while (asking := np.flatnonzero(policy.needs_more(confidence, count))).size:
            new_workers, new_answers = self.ask(asking, taken)
            items.append(asking)
            workers.append(new_workers)
            answers.append(new_answers)
            count[asking] += 1
            result = self.consolidate(items, workers, answers)
            accuracy, confidence = self.accuracy(result), result.confidence
        return float(count.mean()), accuracy


def simulate_dynamic(
    pool: str, policies: list[JudgmentPolicy], n_items: int, seeds: list[int]
) -> list[DynamicRow]:
    """Each policy against fixed 5 judgments per item on the same crowds, averaged over seeds."""
    fixed = float(np.mean([SimulatedCrowd(pool, n_items, seed).fixed(5) for seed in seeds]))
    rows = []
    for policy in policies:
        runs = [SimulatedCrowd(pool, n_items, seed).dynamic(policy) for seed in seeds]
        per_item = float(np.mean([r[0] for r in runs]))
        accuracy = float(np.mean([r[1] for r in runs]))
        rows.append(DynamicRow(pool, policy, per_item, per_item / 5, accuracy, fixed))
        print(rows[-1], flush=True)
    return rows


def dynamic_table(rows: list[DynamicRow]) -> str:
    lines = [
        "| pool | min | max | target | judgments / item | share of fixed-5 budget | accuracy | fixed 5 accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        p = r.policy
        lines.append(
            f"| {r.pool} | {p.min_judgments} | {p.max_judgments} | {p.target_confidence} | "
            f"{r.judgments_per_item:.2f} | {100 * r.budget_share:.0f}% | {100 * r.accuracy:.2f} | "
            f"{100 * r.fixed_accuracy:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10k and 100k judgments, short timeouts")
    parser.add_argument("--presets", nargs="*", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--methods", nargs="*", default=list(OURS), choices=list(OURS))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed to each crowd-kit run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-dynamic", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--crowdkit-worker", nargs=3, metavar=("METHOD", "DATA", "OUT"), help=argparse.SUPPRESS
    )
    if sys.argv[1:2] == ["--crowdkit-worker"]:
        crowdkit_worker(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    args = parser.parse_args()

    sizes, ours_only, dynamic_items = [10_000, 1_000_000], [5_000_000], 10_000
    if args.quick:
        sizes, ours_only, dynamic_items = [10_000, 100_000], [], 4_000
        args.timeout = min(args.timeout, 30.0)

    started = time.perf_counter()
    rows = compare(args.presets, sizes, ours_only, args.timeout, args.seed, args.methods)
    dynamic: list[DynamicRow] = []
    if not args.no_dynamic:
        seeds = [args.seed, args.seed + 1]
        for pool, targets in DYNAMIC_TARGETS.items():
            policies = [JudgmentPolicy(2, 6, target) for target in targets]
            dynamic += simulate_dynamic(pool, policies, dynamic_items, seeds)

    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; total {time.perf_counter() - started:.0f} s\n")  # fmt: skip
    print(comparison_table(rows))
    if dynamic:
        print()
        print(dynamic_table(dynamic))
    if args.json:
        dynamic_out = [{**r.__dict__, "policy": r.policy.__dict__} for r in dynamic]
        comparison_out = [r.__dict__ for r in rows]
        args.json.write_text(json.dumps({"comparison": comparison_out, "dynamic": dynamic_out}, indent=1))


if __name__ == "__main__":
    main()
