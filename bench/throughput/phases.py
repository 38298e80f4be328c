"""The run, phase by phase: AddItems, echo, judging, the paired ratio, StreamLabels, the
million-item step."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import grpc

from .drivers import (
    WANT_NEXT,
    _warm,
    drive_echo,
    drive_judgments,
    merge,
    percentiles,
    run_drivers,
    text_items,
)
from .meters import (
    CpuMeter,
    SystemMeter,
    ThreadMeter,
    proc_status_kb,
    py_spy_profile,
    py_spy_thread_names,
    wait_until,
)
from .servers import ServerProcess, start_echo, start_labelwire
from .settings import CLASSES, RESULTS, ROOT


async def add_items_timed(
    client: Any, job: str, count: int, prefix: str, pid: int, *, prebuild: bool
) -> dict[str, Any]:
    """One client, one AddItems stream of 1,000-item messages (the SDK default). With
    `prebuild`, the items are built before the clock starts so that the client's protobuf
    construction is not charged to the server (the million-item step builds them lazily to
    keep the driver's own memory small)."""
    items: Any = list(text_items(count, prefix)) if prebuild else text_items(count, prefix)
    drained = [0.0]

    def watched() -> Iterator[Any]:
        yield from items
        drained[0] = time.perf_counter()

    meter = CpuMeter(pid)
    cpu0, t0 = time.process_time(), time.perf_counter()
    response = await client.add_items(job, watched())
    end = time.perf_counter()
    seconds = end - t0
    return {
        "items": count,
        "added": response.added_count,
        "seconds": seconds,
        "items_per_s": count / seconds,
        # from the last item handed to the stream to the response: the server's final commit
        # plus whatever messages were still in flight (an upper bound on the commit)
        "tail_after_last_item_s": end - drained[0],
        "server_cpu_percent": meter.percent(),
        "client_cpu_percent": 100 * (time.process_time() - cpu0) / seconds,
    }


async def write_probe(target: str, token: str, stop: asyncio.Event, every: float = 0.02) -> list[float]:
    """NextTask latencies (ms), one call every `every` s until `stop` is set; the call in
    flight then is finished, not cancelled, so a stall at the very end is not lost. NextTask
    is always a transaction on the store's single writer thread, so its latency during a big
    AddItems shows how long judging would stall behind that upload's writes."""
    from labelwire.client.raw import WorkerClient

    latencies: list[float] = []
    async with WorkerClient(target, token) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            await client.next_task()
            latencies.append((time.perf_counter() - t0) * 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    return latencies


async def stream_labels_timed(client: Any, job: str, pid: int, repeats: int) -> dict[str, Any]:
    """One client reads the whole feed (snapshot_only), `repeats` times; the median run is
    reported, since one pass of a few thousand labels is short enough to be noisy. The
    client's CPU share is kept beside the server's: a single Python client may be the wall."""
    runs = []
    for _ in range(repeats):
        meter = CpuMeter(pid)
        cpu0, t0 = time.process_time(), time.perf_counter()
        labels = 0
        async for _label in client.stream_labels(job, snapshot_only=True):
            labels += 1
        seconds = time.perf_counter() - t0
        runs.append(
            {
                "labels": labels,
                "seconds": seconds,
                "labels_per_s": labels / seconds,
                "server_cpu_percent": meter.percent(),
                "client_cpu_percent": 100 * (time.process_time() - cpu0) / seconds,
            }
        )
    runs.sort(key=lambda r: r["labels_per_s"])
    return {**runs[len(runs) // 2], "runs_labels_per_s": [r["labels_per_s"] for r in runs]}


def code_state() -> dict[str, Any]:
    """The commit measured and the server files changed on top of it (read-only git), since
    the server may be edited while benchmarks run."""

    def git(*argv: str) -> str:
        try:
            return subprocess.run(
                ["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": git("status", "--porcelain", "--", "server").splitlines(),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from labelwire.client.raw import AdminClient, Client

    out: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "grpcio": grpc.__version__,
            "platform": platform.platform(),
        },
        "config": {k: v for k, v in vars(args).items() if k != "serve_echo"},
        "code": code_state(),
    }
    workdir = Path(tempfile.mkdtemp(prefix="labelwire-bench-"))
    admin_key = secrets.token_urlsafe(24)
    server = start_labelwire(workdir, admin_key)
    pid = server.proc.pid
    print(f"labelwire server pid {pid} on {server.target}, data in {workdir}", flush=True)
    ctx = get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=args.drivers, mp_context=ctx) as pool:
            list(pool.map(_warm, range(args.drivers)))
            async with AdminClient(server.target, admin_key) as admin:
                api_key = await admin.create_api_key("bench")
            async with Client(server.target, api_key) as lw:
                job = await lw.create_job(
                    "bench", classes=list(CLASSES), judgments_per_item=3, quiz_size=0, hidden_gold_share=0
                )
                print(f"AddItems: {args.items:,} items ...", flush=True)
                out["add_items"] = await add_items_timed(lw, job.name, args.items, "r", pid, prebuild=True)
                await lw.start_job(job.name)
                jobs = {args.modes[0]: (job.name, await make_workers(lw, job.name, "w", args.workers))}
                for mode in args.modes[1:]:  # a job of its own per further mode, its items untimed
                    jobs[mode] = await judging_job(lw, f"bench-{mode}", args.items, args.workers)
                out["rss_mb_after_add_items"] = proc_status_kb(pid, "VmRSS") / 1024

                echo = start_echo(workdir)
                by_mode: dict[str, dict[str, Any]] = {}
                try:
                    print(f"echo: {args.workers} concurrent callers for {args.echo_seconds}s ...", flush=True)
                    echo_runs = [await echo_phase(pool, echo, args, args.echo_seconds)]
                    names = py_spy_thread_names(args.py_spy, pid) if args.py_spy else {}
                    for mode, (_, tokens) in jobs.items():
                        print(
                            f"judgments ({mode}): {args.workers} workers, up to {args.judgment_seconds}s ...",
                            flush=True,
                        )
                        by_mode[mode] = await judge_phase(
                            pool, server, tokens, args, args.judgment_seconds, names, mode
                        )

                    print(f"echo again: {args.echo_seconds}s ...", flush=True)
                    echo_runs.append(await echo_phase(pool, echo, args, args.echo_seconds))
                    # the ceiling is the better of the two echo runs (one before, one after
                    # judging), so other work on the machine cannot flatter the ratio
                    out["echo"] = max(echo_runs, key=lambda e: e["rpcs_per_s"])
                    out["echo"]["runs_rpcs_per_s"] = [e["rpcs_per_s"] for e in echo_runs]
                    for judged in by_mode.values():
                        judged["ratio_to_echo"] = judged["rpcs_per_s"] / out["echo"]["rpcs_per_s"]
                        judged["judgments_ratio_to_echo"] = (
                            judged["judgments_per_s"] / out["echo"]["rpcs_per_s"]
                        )

                    if args.ratio_pairs:
                        for mode in args.modes:
                            by_mode[mode]["paired"] = await paired_ratio(lw, pool, server, echo, args, mode)
                finally:
                    echo.stop()
                for mode, (name, _) in jobs.items():
                    by_mode[mode]["server_job"] = _job_counters(await lw.get_job(name))
                out["judgments"] = by_mode[args.modes[0]]
                out["by_mode"] = by_mode

                print("StreamLabels ...", flush=True)
                out["stream_labels"] = await stream_labels_timed(lw, job.name, pid, repeats=3)
                out["rss_mb_peak_before_million"] = proc_status_kb(pid, "VmHWM") / 1024

                if args.million_items:
                    print(f"AddItems: {args.million_items:,} items into a second job ...", flush=True)
                    big = await lw.create_job(
                        "bench-million", classes=list(CLASSES), quiz_size=0, hidden_gold_share=0
                    )
                    stop = asyncio.Event()
                    probe = asyncio.create_task(write_probe(server.target, tokens[0], stop))
                    million = await add_items_timed(
                        lw, big.name, args.million_items, "m", pid, prebuild=False
                    )
                    stop.set()
                    probed = await probe
                    million["write_probe"] = {
                        **percentiles(probed),
                        "max_ms": max(probed, default=float("nan")),
                    }
                    million["rss_mb_after"] = proc_status_kb(pid, "VmRSS") / 1024
                    million["rss_mb_peak"] = proc_status_kb(pid, "VmHWM") / 1024
                    t0 = time.perf_counter()
                    await lw.get_job(big.name)
                    million["get_job_s"] = time.perf_counter() - t0
                    t0 = time.perf_counter()
                    await lw.start_job(big.name)
                    million["start_job_s"] = time.perf_counter() - t0
                    million["rss_mb_after_start"] = proc_status_kb(pid, "VmRSS") / 1024
                    out["million"] = million
                out["rss_mb_peak"] = proc_status_kb(pid, "VmHWM") / 1024
                out["rss_mb_end"] = proc_status_kb(pid, "VmRSS") / 1024
                out["database_mb"] = sum(p.stat().st_size for p in workdir.glob("bench.db*")) / 1e6
    finally:
        died = server.proc.poll()
        server.stop()
        if died is not None:
            # the server ended before we stopped it: keep its log, the only trace of why
            kept = RESULTS / f"throughput-server-{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(server.log.read_bytes())
            print(f"labelwire server exited early with code {died}; its log is in {kept}", file=sys.stderr)
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return out


async def load_phase(
    pool: ProcessPoolExecutor,
    jobs: list[tuple[Any, ...]],
    start_at: float,
    server_pid: int,
    names: dict[int, str] | None = None,
) -> dict[str, Any]:
    """Runs driver jobs in the pool and meters the server, its threads and the machine from
    the common start (not before: the drivers' connection set-up is not part of a phase)."""
    running = asyncio.get_running_loop().run_in_executor(None, run_drivers, pool, jobs)
    await wait_until(start_at)
    meter, threads, machine = CpuMeter(server_pid), ThreadMeter(server_pid, names or {}), SystemMeter()
    results = await running
    summary = merge(results, start_at)
    summary["server_cpu_percent"] = meter.percent()
    summary["server_threads"] = threads.top()
    summary.update(machine.reading())
    return summary


async def echo_phase(
    pool: ProcessPoolExecutor, echo: ServerProcess, args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    """One echo measurement with the same client shape as the judging phase."""
    start_at = time.time() + 3.0
    per_driver = [len(range(d, args.workers, args.drivers)) for d in range(args.drivers)]
    jobs = [(drive_echo, echo.target, n, start_at, start_at + seconds) for n in per_driver]
    return await load_phase(pool, jobs, start_at, echo.proc.pid)


async def judge_phase(
    pool: ProcessPoolExecutor,
    server: ServerProcess,
    tokens: Sequence[str],
    args: argparse.Namespace,
    seconds: float,
    names: dict[int, str] | None = None,
    mode: str = WANT_NEXT,
) -> dict[str, Any]:
    """The simulated workers for `seconds` or until the job completes."""
    pid = server.proc.pid
    start_at = time.time() + 3.0
    profile = None
    if args.py_spy and args.profile_seconds:
        raw = RESULTS / f"server-profile-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.txt"
        raw.parent.mkdir(parents=True, exist_ok=True)
        profile = asyncio.create_task(
            py_spy_profile(args.py_spy, pid, start_at + 5.0, args.profile_seconds, raw)
        )
    shares = [tokens[d :: args.drivers] for d in range(args.drivers)]
    jobs = [
        (drive_judgments, server.target, share, start_at, start_at + seconds, d, mode)
        for d, share in enumerate(shares)
    ]
    judged = await load_phase(pool, jobs, start_at, pid, names)
    if profile is not None:
        judged["server_profile"] = await profile
    calls = judged["calls"]
    judged["mode"] = mode
    judged["judgments"] = calls.get("judgments", 0)
    judged["judgments_per_s"] = judged["judgments"] / judged["window_s"]
    # the RPCs that did work: every SubmitJudgment and every NextTask that leased a task;
    # the empty NextTask polls at the job's tail are left out (they stay in "all_rpcs_per_s"),
    # so the ratio is not flattered. In two_calls mode this is 2 x judgments; in want_next
    # mode judgments plus each worker's first lease (and one after each empty `next`).
    working = calls.get("SubmitJudgment", 0) + calls.get("NextTask", 0) - calls.get("NextTask (no task)", 0)
    judged["all_rpcs_per_s"] = judged["rpcs_per_s"]
    judged["rpcs_per_s"] = working / judged["window_s"]
    judged["rpcs_per_judgment"] = working / max(judged["judgments"], 1)
    return judged


async def paired_ratio(
    lw: Any,
    pool: ProcessPoolExecutor,
    server: ServerProcess,
    echo: ServerProcess,
    args: argparse.Namespace,
    mode: str = WANT_NEXT,
) -> dict[str, Any]:
    """The ratio again, as the median of short back-to-back (echo, judging) pairs on a fresh
    job, alternating which goes first. On a shared machine the load of other work drifts
    within minutes; a pair sees nearly the same background, so its ratio is steadier than
    one long judging phase against echo runs minutes away."""
    seconds = args.ratio_seconds
    items = int(args.ratio_pairs * seconds * 3000 / 3) + 10_000  # comfortably more than is judged
    _, tokens = await judging_job(lw, f"bench-ratio-{mode}", items, args.workers)
    pairs = []
    for i in range(args.ratio_pairs):
        print(f"pair {i + 1}/{args.ratio_pairs} ({mode}): echo and judging, {seconds}s each ...", flush=True)
        if i % 2 == 0:
            e = await echo_phase(pool, echo, args, seconds)
            j = await judge_phase(pool, server, tokens, args, seconds, mode=mode)
        else:
            j = await judge_phase(pool, server, tokens, args, seconds, mode=mode)
            e = await echo_phase(pool, echo, args, seconds)
        pairs.append(
            {
                "echo_rpcs_per_s": e["rpcs_per_s"],
                "judgments_per_s": j["judgments_per_s"],
                "ratio": j["rpcs_per_s"] / e["rpcs_per_s"],
                "judgments_ratio": j["judgments_per_s"] / e["rpcs_per_s"],
                "machine_busy_percent": (e["machine_busy_percent"] + j["machine_busy_percent"]) / 2,
            }
        )
    ratios = sorted(p["ratio"] for p in pairs)
    return {
        "mode": mode,
        "seconds": seconds,
        "median_judgments_ratio": statistics.median(p["judgments_ratio"] for p in pairs),
        "pairs": pairs,
        "median_ratio": statistics.median(ratios),
        "min_ratio": ratios[0],
        "max_ratio": ratios[-1],
    }


async def make_workers(lw: Any, job: str, prefix: str, count: int) -> list[str]:
    return [(await lw.create_worker(job, f"{prefix}{i}"))[1] for i in range(count)]


async def judging_job(lw: Any, name: str, items: int, workers: int) -> tuple[str, list[str]]:
    """A running job of `items` items (added untimed) and its workers' tokens."""
    job = await lw.create_job(
        name, classes=list(CLASSES), judgments_per_item=3, quiz_size=0, hidden_gold_share=0
    )
    await lw.add_items(job.name, text_items(items, name[:1]))
    await lw.start_job(job.name)
    return job.name, await make_workers(lw, job.name, name[:1], workers)


def _job_counters(job: Any) -> dict[str, Any]:
    c = job.counters
    return {
        "state": job.state,
        "labeled_items": c.labeled_items,
        "judgments": c.judgments,
        "total_items": c.total_items,
    }
