"""The load: driver processes of simulated workers (or echo callers), and how their
results are merged into one window."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np

from .meters import wait_until
from .settings import ADJECTIVES, CLASSES, ECHO_METHOD


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


WANT_NEXT = "want_next"
TWO_CALLS = "two_calls"
MODES = (WANT_NEXT, TWO_CALLS)


async def _judge(
    target: str,
    tokens: Sequence[str],
    start_at: float,
    end_at: float,
    seed: int,
    mode: str = WANT_NEXT,
) -> DriverResult:
    """Simulated workers, each on its own channel. In `want_next` mode (what the worker
    app and the SDK do) a worker leases once with NextTask, then answers with
    SubmitJudgment(want_next) and follows the `next` it returns: one RPC and one commit a
    judgment; NextTask again only when `next` had no task, after its `retry_after`. In
    `two_calls` mode each judgment is NextTask then SubmitJudgment. A worker answers the
    item's "true" class 80 % of the time so labels are realistic."""
    from labelwire.client.raw import WorkerClient, classification

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    answers = [classification(name) for name in CLASSES]
    result = DriverResult()
    clients = [WorkerClient(target, token) for token in tokens]
    for client in clients:  # connect and authenticate (cached by the server) before the clock starts
        await client.stats()
    done = asyncio.Event()
    want_next = mode == WANT_NEXT

    async def no_task(offered: Any) -> None:
        """The job is complete (no retry_after), or other workers hold the last leases: ask
        again after `retry_after`, as the worker app does (not past the phase's end)."""
        if not offered.HasField("retry_after") or offered.retry_after.ToNanoseconds() == 0:
            done.set()
            result.job_done = True
            return
        await asyncio.sleep(min(offered.retry_after.ToNanoseconds() / 1e9, max(0.0, end_at - time.time())))

    async def worker(client: WorkerClient, rng: random.Random) -> None:
        clock = time.perf_counter
        offered: Any = None  # the NextTaskResponse the next judgment answers (want_next)
        while time.time() < end_at and not done.is_set():
            try:
                if offered is None or not offered.HasField("task"):
                    t0 = clock()
                    offered = await client.next_task()
                    result.record("NextTask", clock() - t0)
                    if not offered.HasField("task"):
                        result.calls["NextTask (no task)"] += 1
                        await no_task(offered)
                        offered = None
                        continue
                task = offered.task
                truth = int(task.text.split(":", 1)[0].removeprefix("Review ")) % len(CLASSES)
                pick = truth if rng.random() < 0.8 else rng.randrange(len(CLASSES))
                t0 = clock()
                response = await client.submit(task.name, answers[pick], want_next=want_next)
                result.record("SubmitJudgment", clock() - t0)
                result.calls["judgments"] += 1
                result.finished_at = time.time()
                offered = response.next if want_next else None
                if offered is not None and not offered.HasField("task"):
                    result.calls["want_next (no task)"] += 1
                    await no_task(offered)
                    offered = None
            except grpc.aio.AioRpcError as exc:
                result.errors[exc.code().name] += 1
                result.error_details.setdefault(exc.code().name, str(exc.details())[:300])
                offered = None
                await asyncio.sleep(0.05)

    await wait_until(start_at)
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

    await wait_until(start_at)
    result.started_at = time.time()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker(c) for c in calls))
    result.cpu_seconds = time.process_time() - cpu0
    for ch in channels:
        await ch.close(None)
    return result


def drive_judgments(
    target: str, tokens: Sequence[str], start_at: float, end_at: float, seed: int, mode: str = WANT_NEXT
) -> DriverResult:
    return asyncio.run(_judge(target, tokens, start_at, end_at, seed, mode))


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
