"""Two labelwire servers judged at the same time: for telling whether a change
moves throughput on a machine other work keeps busy.

Why it is built this way:

* On the shared 2-core machine, `throughput.py` run twice on one tree gave
  judgments/s 1.5x apart, and `rpc_cpu.py` paced runs of one tree 20% apart,
  since the load of other work changes from minute to minute. Here tree A and
  tree B (or one tree under two settings) are judged in the same seconds, each
  by its own driver process of `--workers` simulated workers (as in
  throughput.py: SubmitJudgment with want_next, following the lease it returns,
  or with `--two-calls` NextTask then SubmitJudgment), so both see the same background, and
  the figure is B's judgments/s over A's, round by round. The same tree against
  itself gave 0.93-1.07 per round (10-15 s) at load 8-13.
* `--before REV` runs commit REV's code as A (laid out from `git archive`, as
  `rpc_cpu.py --before` does); `--env-a`/`--env-b K=V` start a server with extra
  environment (a setting read at start, a `sitecustomize` on PYTHONPATH).
* Server CPU per judgment and per RPC (all threads, from /proc) is read beside each rate.

Not part of the tests: `python bench/judge_ab.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_out import serve_argv, source_of
from throughput import (
    CLASSES,
    TWO_CALLS,
    WANT_NEXT,
    CpuMeter,
    ServerProcess,
    _spawn,
    _warm,
    drive_judgments,
    merge,
    run_drivers,
    text_items,
)


def start(workdir: Path, admin_key: str, source: Path | None, env: dict[str, str]) -> ServerProcess:
    """`labelwire serve` of this venv, or of the tree laid out at `source`."""
    argv = [*serve_argv(source), "--database", str(workdir / "bench.db"), f"--admin-key={admin_key}"]
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return _spawn(argv, workdir / "labelwire.log", r"listening on [\d.]+:(\d+)")
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def prepare(server: ServerProcess, admin_key: str, items: int, workers: int) -> list[str]:
    """A running job of `items` items and `workers` worker tokens."""
    from labelwire.client.raw import AdminClient, Client

    async with AdminClient(server.target, admin_key) as admin:
        api_key = await admin.create_api_key("bench")
    async with Client(server.target, api_key) as lw:
        job = await lw.create_job(
            "bench", classes=list(CLASSES), judgments_per_item=3, quiz_size=0, hidden_gold_share=0
        )
        await lw.add_items(job.name, text_items(items, "r"))
        await lw.start_job(job.name)
        return [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(workers)]


async def rounds(
    args: argparse.Namespace, servers: list[ServerProcess], tokens: list[list[str]]
) -> list[float]:
    ratios: list[float] = []
    loop = asyncio.get_running_loop()
    mode = TWO_CALLS if args.two_calls else WANT_NEXT
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        list(pool.map(_warm, range(2)))
        for n in range(args.rounds):
            start_at = time.time() + 3.0
            end_at = start_at + args.seconds
            running = [
                loop.run_in_executor(
                    None, run_drivers, pool, [(drive_judgments, s.target, t, start_at, end_at, i, mode)]
                )
                for i, (s, t) in enumerate(zip(servers, tokens, strict=True))
            ]
            await asyncio.sleep(max(0.0, start_at - time.time()))
            meters = [CpuMeter(s.proc.pid) for s in servers]
            results = [merge(await r, start_at) for r in running]
            cpu = [m.percent() for m in meters]
            rate = [r["calls"].get("judgments", 0) / r["window_s"] for r in results]
            rpcs = [working_rpcs(r) / r["window_s"] for r in results]
            ratios.append(rate[1] / rate[0])
            ms = [10 * c / j if j else float("nan") for c, j in zip(cpu, rate, strict=True)]
            per_rpc = [10 * c / n if n else float("nan") for c, n in zip(cpu, rpcs, strict=True)]
            print(
                f"round {n + 1} ({mode}): A {rate[0]:.0f} judgments/s ({ms[0]:.3f} ms CPU a judgment,"
                f" {per_rpc[0]:.3f} an RPC), B {rate[1]:.0f} ({ms[1]:.3f}, {per_rpc[1]:.3f}),"
                f" B/A {ratios[-1]:.3f}, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    return ratios


def working_rpcs(summary: dict[str, Any]) -> int:
    """SubmitJudgments and the NextTasks that leased a task, as throughput.py counts them."""
    calls = summary["calls"]
    return int(calls.get("SubmitJudgment", 0) + calls.get("NextTask", 0) - calls.get("NextTask (no task)", 0))


def env_of(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


async def main(args: argparse.Namespace) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="labelwire-ab-"))
    servers: list[ServerProcess] = []
    try:
        source = source_of(args.before, scratch) if args.before else None
        keys = [secrets.token_urlsafe(24) for _ in range(2)]
        for name, src, env, key in (
            ("a", source, env_of(args.env_a), keys[0]),
            ("b", None, env_of(args.env_b), keys[1]),
        ):
            (scratch / name).mkdir()
            servers.append(start(scratch / name, key, src, env))
        items = int(args.rounds * args.seconds * 2500 / 3) + 5000  # more than both can judge
        tokens = [await prepare(s, k, items, args.workers) for s, k in zip(servers, keys, strict=True)]
        ratios = await rounds(args, servers, tokens)
        print(f"B/A median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def parse(argv: Any = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--before", metavar="REV", help="A runs commit REV's code (default: this tree)")
    parser.add_argument("--env-a", action="append", default=[], metavar="K=V", help="extra environment of A")
    parser.add_argument("--env-b", action="append", default=[], metavar="K=V", help="extra environment of B")
    parser.add_argument("--rounds", type=int, default=4, help="rounds (default 4)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of a round (default 15)")
    parser.add_argument("--workers", type=int, default=64, help="simulated workers per server (default 64)")
    parser.add_argument(
        "--two-calls",
        action="store_true",
        help="workers do NextTask then SubmitJudgment (default: SubmitJudgment with want_next)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
