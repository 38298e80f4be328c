"""Server throughput benchmark: how many judgments per second labelwire commits, and
how that compares with what gRPC in Python can do at all on the same machine.

Why it is built this way:

* The labelwire server runs as its own process (`labelwire serve` on a temporary SQLite
  file), exactly as in production, so its CPU and RSS can be read from /proc without
  the driver's own work mixed in.
* The load comes from separate driver processes (grpc.aio, one event loop each; one
  process by default, `--drivers N` for more) so that the measured rate is not capped by
  a driver sharing an interpreter with the orchestrator.
* The same drivers, with the same concurrency and one channel per simulated worker, also
  hit a bare grpc.aio echo server (generic handler, bytes in and out) in its own process.
  Its requests/s is the ceiling any Python gRPC service can reach here, so the ratio of
  labelwire's RPC rate to it says how much the server's own work costs, independent of
  how fast this (shared, 2-core) machine happens to be.
* A judgment is counted only when SubmitJudgment has answered OK, and the server answers
  only after the commit, so judgments/s is committed judgments/s.
* The machine is shared, and other work moves the echo rate more than labelwire's. So the
  ratio is given twice (whole judging phase against the better of two echo runs, and the
  median of short back-to-back echo/judging pairs), together with what moves less: server
  CPU per RPC, per-thread CPU of the server (is one thread the wall?) and how busy the
  whole machine was.

Not part of the tests. Run `python bench/throughput.py --help`; `--quick` for a short run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLASSES = ("positive", "negative", "neutral")
ECHO_METHOD = "/labelwire.bench.Echo/Echo"
ADJECTIVES = ("great", "cold", "fine", "awful", "lovely", "bland", "slow", "quick")
TICKS = os.sysconf("SC_CLK_TCK")


# --- the server processes -------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A child server process and the port it reported in its log."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(argv: list[str], log: Path, pattern: str, timeout: float = 60.0) -> ServerProcess:
    """Starts a server on port 0 and waits for the port in its log, so no port is guessed."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return ServerProcess(proc, int(match.group(1)), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server did not start ({argv[0]}):\n{log.read_text(errors='replace')}")


def start_labelwire(workdir: Path, admin_key: str) -> ServerProcess:
    exe = Path(sys.executable).with_name("labelwire")
    argv = [
        str(exe),
        "serve",
        "--address",
        "127.0.0.1:0",
        "--http-address",
        "",
        "--database",
        str(workdir / "bench.db"),
        "--admin-key",
        admin_key,
    ]
    return _spawn(argv, workdir / "labelwire.log", r"listening on [\d.]+:(\d+)")


def start_echo(workdir: Path) -> ServerProcess:
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-echo"]
    return _spawn(argv, workdir / "echo.log", r"echo listening on (\d+)")


async def serve_echo() -> None:
    """The reference server: grpc.aio with one generic bytes-in, bytes-out unary method
    (no protobuf, no auth, no storage): the most a Python gRPC server does per RPC."""

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "labelwire.bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"echo listening on {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1.0)


# --- /proc readings ---------------------------------------------------------------------------------------


def proc_status_kb(pid: int, field_name: str) -> int:
    """VmRSS / VmHWM from /proc (psutil is not a dependency of the project's venv)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), to tell who is saturated."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class CpuMeter:
    """CPU share of one process over a phase: 100 % is one core busy the whole time."""

    pid: int
    start_cpu: float = field(init=False)
    start_wall: float = field(init=False)

    def __post_init__(self) -> None:
        self.start_cpu = proc_cpu_seconds(self.pid)
        self.start_wall = time.monotonic()

    def percent(self) -> float:
        wall = time.monotonic() - self.start_wall
        return 100.0 * (proc_cpu_seconds(self.pid) - self.start_cpu) / wall if wall > 0 else 0.0


@dataclass
class SystemMeter:
    """Busy share of the whole machine over a phase (100 % = every core busy), and the load
    average: this machine is shared, so what the server and drivers did not use tells how
    much other work competed with the run."""

    start: tuple[int, int] = field(init=False)

    @staticmethod
    def _read() -> tuple[int, int]:
        values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def __post_init__(self) -> None:
        self.start = self._read()

    def reading(self) -> dict[str, float]:
        busy, total = self._read()
        share = (busy - self.start[0]) / max(total - self.start[1], 1)
        return {
            "machine_busy_percent": 100 * share,
            "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        }


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds of each thread of a process, with its kernel name (comm)."""
    out: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended between listing and reading
        out[int(task.name)] = (comm, (int(fields[11]) + int(fields[12])) / TICKS)
    return out


@dataclass
class ThreadMeter:
    """Per-thread CPU share over a phase, to tell whether one thread (the asyncio loop,
    the SQLite writer) is the wall. Python 3.11 does not name OS threads, so a Python
    thread shows the process name in /proc; `names` (tid -> Python thread name, from a
    py-spy dump when --py-spy is given) tells them apart. The main thread (tid == pid)
    runs the asyncio loop, all servicer code and gRPC's Cython layer."""

    pid: int
    names: dict[int, str] = field(default_factory=dict)
    start: dict[int, tuple[str, float]] = field(init=False)
    start_wall: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = thread_cpu(self.pid)
        self.start_wall = time.monotonic()

    def top(self, limit: int = 6) -> list[dict[str, Any]]:
        wall = time.monotonic() - self.start_wall
        rows: list[dict[str, Any]] = []
        for tid, (comm, cpu) in thread_cpu(self.pid).items():
            used = cpu - self.start.get(tid, (comm, 0.0))[1]
            role = "MainThread (asyncio loop)" if tid == self.pid else self.names.get(tid, comm)
            rows.append({"tid": tid, "comm": comm, "role": role, "cpu_percent": 100 * used / wall})
        rows.sort(key=lambda r: -r["cpu_percent"])
        return rows[:limit]


def py_spy_thread_names(py_spy: str, pid: int) -> dict[int, str]:
    """tid -> Python thread name, read from one `py-spy dump` of the server."""
    try:
        dump = subprocess.run(
            [py_spy, "dump", "-p", str(pid)], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return {
        int(m.group(1)): m.group(2) for m in re.finditer(r'^Thread (\d+) \([^)]*\): "([^"]*)"', dump, re.M)
    }


async def py_spy_profile(py_spy: str, pid: int, begin_at: float, seconds: float, raw: Path) -> dict[str, Any]:
    """Samples the server's Python stacks for `seconds` from `begin_at` (py-spy, non-blocking,
    100 Hz) and keeps, per thread, the share of samples each function is on the stack of.
    This is how a bottleneck is named without touching the server; it costs the server a
    little CPU, so headline numbers come from runs without it."""
    await _wait_until(begin_at)
    argv = [
        py_spy,
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(seconds)),
        "-r",
        "100",
        "--threads",
        "--nonblocking",
        "--format",
        "raw",
        "-o",
        str(raw),
    ]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await proc.wait()
    if not raw.exists():
        return {}
    per_thread: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread, n = frames[0], int(count)
        per_thread[thread] += n
        inclusive.setdefault(thread, Counter()).update({f: n for f in set(frames[1:])})
    total = seconds * 100
    return {
        thread: {
            "active_percent": 100 * n / total,
            "top_inclusive_percent": {
                f: round(100 * c / total, 1) for f, c in inclusive[thread].most_common(25)
            },
        }
        for thread, n in per_thread.most_common(4)
    }


# --- the drivers (each runs in its own process) ----------------------------------------------------------


@dataclass
class DriverResult:
    """What one driver process saw; latencies in milliseconds."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_details: dict[str, str] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    finished_at: float = 0.0
    started_at: float = 0.0
    cpu_seconds: float = 0.0
    job_done: bool = False

    def record(self, method: str, seconds: float) -> None:
        self.calls[method] += 1
        self.latencies.setdefault(method, []).append(seconds * 1000.0)


async def _wait_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.time()))


async def _judge(
    target: str, tokens: Sequence[str], start_at: float, end_at: float, seed: int
) -> DriverResult:
    """Simulated workers: each loops NextTask then SubmitJudgment on its own channel.
    A worker answers the item's "true" class 80 % of the time so labels are realistic."""
    from labelwire.client.raw import WorkerClient, classification

    answers = [classification(name) for name in CLASSES]
    result = DriverResult()
    clients = [WorkerClient(target, token) for token in tokens]
    for client in clients:  # connect and authenticate (cached by the server) before the clock starts
        await client.stats()
    done = asyncio.Event()

    async def worker(client: WorkerClient, rng: random.Random) -> None:
        clock = time.perf_counter
        while time.time() < end_at and not done.is_set():
            try:
                t0 = clock()
                response = await client.next_task()
                result.record("NextTask", clock() - t0)
                if not response.HasField("task"):
                    result.calls["NextTask (no task)"] += 1
                    if not response.HasField("retry_after") or response.retry_after.ToNanoseconds() == 0:
                        done.set()  # the job is complete
                        result.job_done = True
                        return
                    await asyncio.sleep(0.05)  # the tail: other workers hold the last leases
                    continue
                truth = int(response.task.text.split(":", 1)[0].removeprefix("Review ")) % len(CLASSES)
                pick = truth if rng.random() < 0.8 else rng.randrange(len(CLASSES))
                t0 = clock()
                await client.submit(response.task.name, answers[pick])
                result.record("SubmitJudgment", clock() - t0)
                result.calls["judgments"] += 1
                result.finished_at = time.time()
            except grpc.aio.AioRpcError as exc:
                result.errors[exc.code().name] += 1
                result.error_details.setdefault(exc.code().name, str(exc.details())[:300])
                await asyncio.sleep(0.05)

    await _wait_until(start_at)
    result.started_at = time.time()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker(c, random.Random(seed * 1000 + i)) for i, c in enumerate(clients)))
    result.cpu_seconds = time.process_time() - cpu0
    result.finished_at = max(result.finished_at, result.started_at)
    for client in clients:
        await client.close()
    return result


async def _echo(target: str, concurrency: int, start_at: float, end_at: float) -> DriverResult:
    """The same client shape against the echo server: one channel per simulated worker,
    a bearer token in the metadata, a small payload, one call in flight per worker."""
    result = DriverResult()
    metadata = (("authorization", "Bearer " + "x" * 48),)
    payload = b"\x0a\x20" + b"j" * 32
    channels = [grpc.aio.insecure_channel(target) for _ in range(concurrency)]
    # no serializers: bytes in, bytes out, as the echo server expects
    calls = [
        ch.unary_unary(ECHO_METHOD, request_serializer=None, response_deserializer=None) for ch in channels
    ]
    for call in calls:
        await call(payload, metadata=metadata)

    async def worker(call: Any) -> None:
        clock = time.perf_counter
        while time.time() < end_at:
            t0 = clock()
            try:
                await call(payload, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                result.errors[exc.code().name] += 1
                continue
            result.record("Echo", clock() - t0)
        result.finished_at = max(result.finished_at, time.time())

    await _wait_until(start_at)
    result.started_at = time.time()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker(c) for c in calls))
    result.cpu_seconds = time.process_time() - cpu0
    for ch in channels:
        await ch.close(None)
    return result


def drive_judgments(
    target: str, tokens: Sequence[str], start_at: float, end_at: float, seed: int
) -> DriverResult:
    return asyncio.run(_judge(target, tokens, start_at, end_at, seed))


def drive_echo(target: str, concurrency: int, start_at: float, end_at: float) -> DriverResult:
    return asyncio.run(_echo(target, concurrency, start_at, end_at))


def _warm(_: int) -> int:
    """Imports grpc and the SDK in a pool process before any clock starts."""
    import labelwire.client.raw  # noqa: F401

    return os.getpid()


def run_drivers(pool: ProcessPoolExecutor, jobs: list[tuple[Any, ...]]) -> list[DriverResult]:
    futures = [pool.submit(*job) for job in jobs]
    return [f.result() for f in futures]


# --- summaries ----------------------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan")}
    arr = np.asarray(values)
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "mean_ms": float(arr.mean()),
    }


def merge(results: Sequence[DriverResult], start_at: float) -> dict[str, Any]:
    """Aggregates driver processes over one window: from the common start to the last
    acknowledged call of any of them."""
    calls: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: dict[str, list[float]] = {}
    details: dict[str, str] = {}
    for r in results:
        calls.update(r.calls)
        errors.update(r.errors)
        details.update(r.error_details)
        for method, values in r.latencies.items():
            latencies.setdefault(method, []).extend(values)
    end = max(r.finished_at for r in results)
    window = max(end - start_at, 1e-9)
    rpcs = sum(len(v) for v in latencies.values())
    return {
        "window_s": window,
        "late_start_s": max(r.started_at for r in results) - start_at,
        "calls": dict(calls),
        "errors": dict(errors),
        "error_details": details,
        "rpcs": rpcs,
        "rpcs_per_s": rpcs / window,
        "latency": {m: percentiles(v) for m, v in latencies.items()},
        "driver_cpu_percent": [100.0 * r.cpu_seconds / window for r in results],
        "job_done": any(r.job_done for r in results),
    }


def text_items(count: int, prefix: str) -> Iterator[Any]:
    """Short review texts (about 60 characters), keys unique within the job."""
    from labelwire.client.raw import text_item

    for i in range(count):
        yield text_item(
            f"{prefix}{i}",
            f"Review {i}: the soup was {ADJECTIVES[i % 8]} and the staff {ADJECTIVES[(i // 8) % 8]}.",
        )


# --- the run ------------------------------------------------------------------------------------------------


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
                tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(args.workers)]
                out["rss_mb_after_add_items"] = proc_status_kb(pid, "VmRSS") / 1024

                echo = start_echo(workdir)
                try:
                    print(f"echo: {args.workers} concurrent callers for {args.echo_seconds}s ...", flush=True)
                    echo_runs = [await echo_phase(pool, echo, args, args.echo_seconds)]

                    print(
                        f"judgments: {args.workers} workers, up to {args.judgment_seconds}s ...", flush=True
                    )
                    names = py_spy_thread_names(args.py_spy, pid) if args.py_spy else {}
                    judged = await judge_phase(pool, server, tokens, args, args.judgment_seconds, names)

                    print(f"echo again: {args.echo_seconds}s ...", flush=True)
                    echo_runs.append(await echo_phase(pool, echo, args, args.echo_seconds))
                    # the ceiling is the better of the two echo runs (one before, one after
                    # judging), so other work on the machine cannot flatter the ratio
                    out["echo"] = max(echo_runs, key=lambda e: e["rpcs_per_s"])
                    out["echo"]["runs_rpcs_per_s"] = [e["rpcs_per_s"] for e in echo_runs]
                    judged["ratio_to_echo"] = judged["rpcs_per_s"] / out["echo"]["rpcs_per_s"]

                    if args.ratio_pairs:
                        out["paired"] = await paired_ratio(lw, pool, server, echo, args)
                finally:
                    echo.stop()
                judged["server_job"] = _job_counters(await lw.get_job(job.name))
                out["judgments"] = judged

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
    await _wait_until(start_at)
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
        (drive_judgments, server.target, share, start_at, start_at + seconds, d)
        for d, share in enumerate(shares)
    ]
    judged = await load_phase(pool, jobs, start_at, pid, names)
    if profile is not None:
        judged["server_profile"] = await profile
    judged["judgments"] = judged["calls"].get("judgments", 0)
    judged["judgments_per_s"] = judged["judgments"] / judged["window_s"]
    # one judgment = one NextTask + one SubmitJudgment; empty NextTask polls at the job's
    # tail are left out (they stay in "rpcs"), so the ratio is not flattered
    judged["all_rpcs_per_s"] = judged["rpcs_per_s"]
    judged["rpcs_per_s"] = 2 * judged["judgments_per_s"]
    return judged


async def paired_ratio(
    lw: Any, pool: ProcessPoolExecutor, server: ServerProcess, echo: ServerProcess, args: argparse.Namespace
) -> dict[str, Any]:
    """The ratio again, as the median of short back-to-back (echo, judging) pairs on a fresh
    job, alternating which goes first. On a shared machine the load of other work drifts
    within minutes; a pair sees nearly the same background, so its ratio is steadier than
    one long judging phase against echo runs minutes away."""
    seconds = args.ratio_seconds
    items = int(args.ratio_pairs * seconds * 2000 / 3) + 10_000  # comfortably more than is judged
    job = await lw.create_job("bench-ratio", classes=list(CLASSES), quiz_size=0, hidden_gold_share=0)
    await lw.add_items(job.name, text_items(items, "p"))
    await lw.start_job(job.name)
    tokens = [(await lw.create_worker(job.name, f"p{i}"))[1] for i in range(args.workers)]
    pairs = []
    for i in range(args.ratio_pairs):
        print(f"pair {i + 1}/{args.ratio_pairs}: echo and judging, {seconds}s each ...", flush=True)
        if i % 2 == 0:
            e = await echo_phase(pool, echo, args, seconds)
            j = await judge_phase(pool, server, tokens, args, seconds)
        else:
            j = await judge_phase(pool, server, tokens, args, seconds)
            e = await echo_phase(pool, echo, args, seconds)
        pairs.append(
            {
                "echo_rpcs_per_s": e["rpcs_per_s"],
                "judgments_per_s": j["judgments_per_s"],
                "ratio": j["rpcs_per_s"] / e["rpcs_per_s"],
                "machine_busy_percent": (e["machine_busy_percent"] + j["machine_busy_percent"]) / 2,
            }
        )
    ratios = sorted(p["ratio"] for p in pairs)
    return {
        "seconds": seconds,
        "pairs": pairs,
        "median_ratio": statistics.median(ratios),
        "min_ratio": ratios[0],
        "max_ratio": ratios[-1],
    }


def _job_counters(job: Any) -> dict[str, Any]:
    c = job.counters
    return {
        "state": job.state,
        "labeled_items": c.labeled_items,
        "judgments": c.judgments,
        "total_items": c.total_items,
    }


def table(res: dict[str, Any]) -> str:
    """The human-readable results, one metric a row, target beside it."""
    j, e = res["judgments"], res["echo"]
    rows: list[tuple[str, str, str]] = [
        ("judgments/s (committed)", f"{j['judgments_per_s']:,.0f}", ""),
        ("labelwire RPCs/s (2 x judgments/s)", f"{j['rpcs_per_s']:,.0f}", ""),
        (
            "echo server requests/s (best of runs)",
            f"{e['rpcs_per_s']:,.0f} (" + ", ".join(f"{x:,.0f}" for x in e["runs_rpcs_per_s"]) + ")",
            "",
        ),
        ("ratio labelwire RPCs / echo (whole phase)", f"{j['ratio_to_echo']:.1%}", ">= 50%"),
    ]
    # server CPU per RPC is far less sensitive to other work on a shared machine than the
    # rates are: a server starved of CPU serves fewer RPCs, but each costs the same
    j_cpu = 10 * j["server_cpu_percent"] / j["rpcs_per_s"]
    e_cpu = 10 * e["server_cpu_percent"] / e["rpcs_per_s"]
    rows.append(
        (
            "server CPU ms per RPC, labelwire / echo (echo share)",
            f"{j_cpu:.2f} / {e_cpu:.2f} ({e_cpu / j_cpu:.0%})",
            "",
        )
    )
    if "paired" in res:
        pr = res["paired"]
        rows.append(
            (
                f"ratio, median of {len(pr['pairs'])} paired {pr['seconds']:.0f}s runs (min-max)",
                f"{pr['median_ratio']:.1%} ({pr['min_ratio']:.0%}-{pr['max_ratio']:.0%})",
                ">= 50%",
            )
        )
        judged_rates = [p["judgments_per_s"] for p in pr["pairs"]]
        echo_rates = [p["echo_rpcs_per_s"] for p in pr["pairs"]]
        rows.append(
            (
                "  paired runs: judgments/s, echo req/s (min-max)",
                f"{min(judged_rates):,.0f}-{max(judged_rates):,.0f}, {min(echo_rates):,.0f}-{max(echo_rates):,.0f}",
                "",
            )
        )
    for method in ("NextTask", "SubmitJudgment"):
        lat = j["latency"].get(method)
        if lat:
            rows.append((f"{method} p50 / p99 ms", f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f}", ""))
    lat = e["latency"]["Echo"]
    rows.append(("Echo p50 / p99 ms", f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f}", ""))
    rows += [
        (
            "judgments in window / window s",
            f"{j['judgments']:,} / {j['window_s']:.0f}{' (job done)' if j['job_done'] else ''}",
            "",
        ),
        ("NextTask with no task", f"{j['calls'].get('NextTask (no task)', 0):,}", ""),
        ("RPC errors", str(j["errors"] or "none"), "none"),
        (
            "server CPU (judging / echo srv)",
            f"{j['server_cpu_percent']:.0f}% / {e['server_cpu_percent']:.0f}%",
            "",
        ),
        (
            "driver CPU (judging / echo)",
            " ".join(f"{x:.0f}%" for x in j["driver_cpu_percent"])
            + " / "
            + " ".join(f"{x:.0f}%" for x in e["driver_cpu_percent"]),
            "",
        ),
        (
            "machine busy (all cores) / load avg, judging",
            f"{j['machine_busy_percent']:.0f}% / {j['loadavg_1m']:.1f}",
            "",
        ),
        (
            "machine busy (all cores) / load avg, echo",
            f"{e['machine_busy_percent']:.0f}% / {e['loadavg_1m']:.1f}",
            "",
        ),
    ]
    rows += [
        (f"  server thread: {t['role']}", f"{t['cpu_percent']:.0f}%", "")
        for t in j.get("server_threads", [])[:4]
    ]
    rows += [
        (
            f"AddItems items/s ({res['add_items']['items']:,} items)",
            f"{res['add_items']['items_per_s']:,.0f}",
            ">= 50,000",
        ),
        (
            "  AddItems CPU server / client",
            f"{res['add_items']['server_cpu_percent']:.0f}% / {res['add_items']['client_cpu_percent']:.0f}%",
            "",
        ),
        (
            f"StreamLabels labels/s ({res['stream_labels']['labels']:,} labels)",
            f"{res['stream_labels']['labels_per_s']:,.0f}",
            ">= 50,000",
        ),
        (
            "  StreamLabels CPU server / client",
            f"{res['stream_labels']['server_cpu_percent']:.0f}% / {res['stream_labels']['client_cpu_percent']:.0f}%",
            "",
        ),
        ("server peak RSS MB (before million step)", f"{res['rss_mb_peak_before_million']:.0f}", ""),
    ]
    if "million" in res:
        m = res["million"]
        rows += [
            (f"AddItems items/s ({m['items']:,} items)", f"{m['items_per_s']:,.0f}", ">= 50,000"),
            (
                "  AddItems CPU server / client",
                f"{m['server_cpu_percent']:.0f}% / {m['client_cpu_percent']:.0f}%",
                "",
            ),
            ("  s from last item sent to AddItems response", f"{m['tail_after_last_item_s']:.2f}", ""),
            (
                "  NextTask p50 / p99 / max ms during that AddItems",
                f"{m['write_probe']['p50_ms']:.0f} / {m['write_probe']['p99_ms']:.0f} / {m['write_probe']['max_ms']:.0f}",
                "",
            ),
            ("  GetJob / StartJob latency s", f"{m['get_job_s']:.2f} / {m['start_job_s']:.2f}", ""),
            (
                f"server RSS MB after {m['items']:,} items (peak)",
                f"{m['rss_mb_after']:.0f} ({m['rss_mb_peak']:.0f})",
                "< 300",
            ),
        ]
    rows.append(("server peak RSS MB (whole run)", f"{res['rss_mb_peak']:.0f}", ""))
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    lines = [f"{'metric':<{width}}  {'measured':>{vwidth}}  target", "-" * (width + vwidth + 12)]
    lines += [f"{name:<{width}}  {value:>{vwidth}}  {target}" for name, value, target in rows]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--items", type=int, default=100_000, help="items in the judged job (default 100,000)"
    )
    parser.add_argument("--workers", type=int, default=64, help="concurrent simulated workers (default 64)")
    parser.add_argument(
        "--drivers", type=int, default=1, help="driver processes sharing the workers (default 1)"
    )
    parser.add_argument(
        "--judgment-seconds",
        type=float,
        default=420.0,
        help="upper bound on the judging phase; it also ends when the job completes (default 420)",
    )
    parser.add_argument(
        "--echo-seconds", type=float, default=20.0, help="length of the echo phase (default 20)"
    )
    parser.add_argument(
        "--ratio-pairs",
        type=int,
        default=6,
        help="back-to-back (echo, judging) pairs for the paired ratio; 0 skips (default 6)",
    )
    parser.add_argument(
        "--ratio-seconds", type=float, default=10.0, help="length of each half of a pair (default 10)"
    )
    parser.add_argument(
        "--million-items",
        type=int,
        default=1_000_000,
        help="items added to a second job to read the server's RSS; 0 skips (default 1,000,000)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 items, 30 s judging, 10 s echo, 2 pairs of 5 s, no million-item step",
    )
    parser.add_argument(
        "--py-spy", metavar="PATH", help="py-spy binary: names the server's threads in the table"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=0.0,
        help="with --py-spy: sample the server's stacks this long while judging (default 0: off)",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON path (default bench/results/throughput-<utc time>.json)"
    )
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.judgment_seconds, args.echo_seconds, args.million_items = 10_000, 30.0, 10.0, 0
        args.ratio_pairs, args.ratio_seconds = 2, 5.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_echo:
        asyncio.run(serve_echo())
        return 0
    res = asyncio.run(run(args))
    text = table(res)
    print()
    print(text)
    path = args.out or RESULTS / f"throughput-{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    res["table"] = text.splitlines()
    path.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
