"""Does a big upload stall other jobs? One server, one worker of one job judging in a loop
(NextTask then SubmitJudgment, one round trip), measured first with no upload and then
while a 1,000,000-item AddItems stream runs into another job.

Why it is built this way:

* The server runs as its own process (`labelwire serve` on a temporary SQLite file), as in
  `throughput.py`, whose pieces this reuses.
* The uploader runs in a child process of its own, so building a million protobuf items
  does not slow the worker's event loop and get charged to the server.
* Both phases run in the same run, against the same server, with the same worker: the
  figure that matters is the worker's p99 during the upload against its p99 without one.
  The machine is shared, so absolute numbers move; the ratio moves less.
* The upload's items/s (from the first message to the response, which comes after the
  items are visible) is reported beside it: staging in chunks must not make uploads slow.

Not part of the tests. `python bench/upload_stall.py --help`. `--server-pythonpath DIR`
runs the server from another checkout (a tree whose `labelwire` package is importable from
DIR), to measure the code before a change in the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import (
    RESULTS,
    ServerProcess,
    _spawn,
    code_state,
    percentiles,
    proc_cpu_seconds,
    text_items,
)

ADMIN_KEY = "bench-upload-stall-admin"
CLASSES = ["positive", "negative", "neutral"]


def start_server(workdir: Path, pythonpath: str | None) -> ServerProcess:
    argv = [
        sys.executable,
        "-m",
        "labelwire.server.cli.main",
        "serve",
        "--address",
        "127.0.0.1:0",
        "--http-address",
        "",
        "--database",
        str(workdir / "bench.db"),
        "--admin-key",
        ADMIN_KEY,
    ]
    if pythonpath:
        os.environ["PYTHONPATH"] = pythonpath
    try:
        return _spawn(argv, workdir / "labelwire.log", r"listening on [\d.]+:(\d+)")
    finally:
        os.environ.pop("PYTHONPATH", None)


async def upload(target: str, key: str, job: str, count: int) -> None:
    """The child process's work: one AddItems stream through the SDK; prints a JSON line."""
    from labelwire.client.raw import Client

    async with Client(target, key) as lw:
        t0 = time.perf_counter()
        response = await lw.add_items(job, text_items(count, "u"))
        seconds = time.perf_counter() - t0
    print(json.dumps({"items": count, "added": response.added_count, "seconds": seconds}), flush=True)


async def judge(target: str, token: str, stop: asyncio.Event) -> list[float]:
    """Round trips (ms) of NextTask + SubmitJudgment until `stop`; the round trip in flight
    then is finished, so a stall at the very end is counted."""
    from labelwire.client.raw import WorkerClient, classification

    latencies: list[float] = []
    async with WorkerClient(target, token) as worker:
        while not stop.is_set():
            t0 = time.perf_counter()
            response = await worker.next_task()
            if not response.HasField("task"):
                raise RuntimeError("the judged job ran out of items; raise --judged-items")
            await worker.submit(response.task.name, classification(CLASSES[0]))
            latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from labelwire.client.raw import AdminClient, Client

    with tempfile.TemporaryDirectory(prefix="labelwire-upload-stall-") as tmp:
        server = start_server(Path(tmp), args.server_pythonpath)
        try:
            async with AdminClient(server.target, ADMIN_KEY) as admin:
                key = await admin.create_api_key("bench")
            async with Client(server.target, key) as lw:
                judged = await lw.create_job("judged", classes=CLASSES, judgments_per_item=1, quiz_size=0)
                await lw.add_items(judged.name, text_items(args.judged_items, "j"))
                await lw.start_job(judged.name)
                _, token = await lw.create_worker(judged.name, "bench worker")
                target_job = await lw.create_job("uploaded", classes=CLASSES, quiz_size=0)

                stop = asyncio.Event()
                baseline_task = asyncio.create_task(judge(server.target, token, stop))
                await asyncio.sleep(args.baseline_seconds)
                stop.set()
                baseline = await baseline_task

                stop = asyncio.Event()
                cpu_before = proc_cpu_seconds(server.proc.pid)
                during_task = asyncio.create_task(judge(server.target, token, stop))
                child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--upload-child",
                    server.target,
                    key,
                    target_job.name,
                    str(args.items),
                    stdout=subprocess.PIPE,
                )
                out, _ = await child.communicate()
                stop.set()
                during = await during_task
                cpu = proc_cpu_seconds(server.proc.pid) - cpu_before
                if child.returncode != 0:
                    raise RuntimeError(f"the uploader failed with exit code {child.returncode}")
                uploaded = json.loads(out.decode().strip().splitlines()[-1])
                counted = (await lw.get_job(target_job.name)).counters.total_items
        finally:
            server.stop()
        base = {**percentiles(baseline), "max_ms": max(baseline)}
        load = {**percentiles(during), "max_ms": max(during)}
        return {
            "code": code_state(),
            "server_pythonpath": args.server_pythonpath,
            "baseline": {"round_trips": len(baseline), **base},
            "during_upload": {"round_trips": len(during), **load},
            "p99_ratio": load["p99_ms"] / base["p99_ms"],
            "upload": {
                **uploaded,
                "items_per_s": uploaded["items"] / uploaded["seconds"],
                "total_items_after": counted,
                # the server's CPU over the upload phase (the worker's calls included): what
                # the upload costs, which other work on a shared machine moves less than time
                "server_cpu_s": cpu,
            },
            "loadavg": os.getloadavg(),
        }


def table(res: dict[str, Any]) -> str:
    b, d, u = res["baseline"], res["during_upload"], res["upload"]
    return "\n".join(
        [
            f"worker NextTask+SubmitJudgment, no upload:     p50 {b['p50_ms']:7.1f} ms  p99 {b['p99_ms']:7.1f} ms"
            f"  max {b['max_ms']:7.1f} ms  ({b['round_trips']} round trips)",
            f"worker NextTask+SubmitJudgment, during upload: p50 {d['p50_ms']:7.1f} ms  p99 {d['p99_ms']:7.1f} ms"
            f"  max {d['max_ms']:7.1f} ms  ({d['round_trips']} round trips)",
            f"p99 ratio (during / without):                  {res['p99_ratio']:.2f}   target: p99 < 100 ms",
            f"AddItems: {u['items']:,} items in {u['seconds']:.1f} s = {u['items_per_s']:,.0f} items/s;"
            f" job total_items after: {u['total_items_after']:,}; server CPU {u['server_cpu_s']:.1f} s",
            f"load average: {', '.join(f'{x:.1f}' for x in res['loadavg'])}",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=1_000_000, help="items in the big upload")
    p.add_argument("--judged-items", type=int, default=50_000, help="items in the job the worker judges")
    p.add_argument("--baseline-seconds", type=float, default=20.0, help="judging with no upload")
    p.add_argument("--server-pythonpath", default=None, help="run the server from this import path")
    p.add_argument(
        "--upload-child", nargs=4, metavar=("TARGET", "KEY", "JOB", "COUNT"), help=argparse.SUPPRESS
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.upload_child:
        target, key, job, count = args.upload_child
        asyncio.run(upload(target, key, job, int(count)))
        return 0
    res = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"upload-stall-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(res, indent=2))
    print(table(res))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
