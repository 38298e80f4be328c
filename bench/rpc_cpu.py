"""Server CPU per RPC at a fixed judging rate: for comparing two trees on a
shared machine, where throughput and the ratio to the echo server move with
other work far more than with the code.

Why it is built this way:

* `bench/throughput.py` drives the server as hard as it goes. On a machine
  other work keeps busy, how hard that is changes from minute to minute, and
  with it how many judgments share a commit: runs of one tree gave 0.51 to
  0.69 ms of server CPU per RPC, in step with their judgments/s.
* Here 64 workers (one channel each, as in throughput.py) are paced to a fixed
  total rate (`--rate` judgments/s, default 150), below what the server does
  even on a busy machine, so both trees do the same work in the same rhythm:
  the same group sizes, the same number of event-loop wake-ups. The server's
  CPU time (all threads, from /proc) over a fixed number of judgments is then
  mostly the code's.
* It runs whatever `labelwire` the running venv has installed, so the same
  script measures another tree with that tree's venv:
  `../base/.venv/bin/python bench/rpc_cpu.py`. `--before REV` does it in one
  run instead: commit REV's code (extracted with `git archive`, as
  `scale_out.py --before` does) and this tree's, alternately, `--rounds` times
  each, so both see the same minutes of the machine's other work.
* `--echo` adds the echo server of throughput.py to each round, paced to the
  same RPCs per second (two calls per judgment), so the echo's CPU per RPC,
  the floor of any Python gRPC server here, is read beside labelwire's.
* `--want-next`: each worker leases once, then answers with SubmitJudgment
  (want_next) and follows the lease it returns, as the worker app does: one
  RPC a judgment, and the echo paced to one call a judgment too.

Not part of the tests: `python bench/rpc_cpu.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_out import source_of
from throughput import CLASSES, ServerProcess, _spawn, proc_cpu_seconds, start_echo, start_labelwire
from throughput.settings import ECHO_METHOD


def _start(workdir: Path, admin_key: str, source: Path | None) -> ServerProcess:
    """This venv's `labelwire serve`, or the one laid out at `source` (PathFinder
    comes before the editable install's finder on sys.meta_path)."""
    if source is None:
        return start_labelwire(workdir, admin_key)
    boot = (
        f"import sys; sys.path.insert(0, {str(source)!r}); "
        "from labelwire.server.cli.main import main; sys.exit(main())"
    )
    argv = [sys.executable, "-c", boot, "serve", "--address", "127.0.0.1:0", "--http-address", ""]
    argv += ["--database", str(workdir / "bench.db"), "--admin-key", admin_key]
    return _spawn(argv, workdir / "labelwire.log", r"listening on [\d.]+:(\d+)")


class Pacer:
    """Hands out call slots at a fixed total rate, whoever asks."""

    def __init__(self, rate: float) -> None:
        self.every = 1.0 / rate
        self.slot = time.perf_counter()

    async def wait(self) -> None:
        now = time.perf_counter()
        self.slot = max(self.slot, now) + self.every
        await asyncio.sleep(self.slot - now)


async def _measured(
    pid: int, workers: int, warm: int, goal: int, step: Callable[[int, random.Random], Awaitable[bool]]
) -> tuple[int, float, float]:
    """Runs `workers` loops of `step` until `goal` steps are done; the CPU and wall
    clock start after `warm` of them. Returns (steps measured, wall s, server CPU s)."""
    done = [0]
    mark: dict[str, float] = {}

    async def loop(index: int) -> None:
        rng = random.Random(index)
        while done[0] < goal:
            if await step(index, rng):
                done[0] += 1
                if done[0] == warm:
                    mark["wall"], mark["cpu"] = time.perf_counter(), proc_cpu_seconds(pid)

    await asyncio.gather(*(loop(i) for i in range(workers)))
    return done[0] - warm, time.perf_counter() - mark["wall"], proc_cpu_seconds(pid) - mark["cpu"]


async def labelwire_round(args: argparse.Namespace, source: Path | None) -> dict[str, Any]:
    from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item

    workdir = Path(tempfile.mkdtemp(prefix="labelwire-rpc-cpu-"))
    admin_key = secrets.token_urlsafe(24)
    server = _start(workdir, admin_key, source)
    try:
        async with AdminClient(server.target, admin_key) as admin:
            api_key = await admin.create_api_key("rpc-cpu")
        async with Client(server.target, api_key) as lw:
            job = await lw.create_job("rpc-cpu", classes=list(CLASSES), judgments_per_item=3, quiz_size=0)
            items = (args.warm + args.judgments) // 3 + 2 * args.workers
            await lw.add_items(job.name, [text_item(f"k{i}", f"Review {i}: fine.") for i in range(items)])
            await lw.start_job(job.name)
            tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(args.workers)]
        answers = [classification(name) for name in CLASSES]
        clients = [WorkerClient(server.target, token) for token in tokens]
        for client in clients:
            await client.stats()
        pacer = Pacer(args.rate)

        offered: list[Any] = [None] * args.workers  # want_next: the lease the last submit returned

        async def judge(index: int, rng: random.Random) -> bool:
            await pacer.wait()
            response = offered[index]
            if response is None or not response.HasField("task"):
                response = await clients[index].next_task()
            if not response.HasField("task"):
                offered[index] = None
                await asyncio.sleep(0.05)
                return False
            truth = int(response.task.text.split(":", 1)[0].removeprefix("Review ")) % len(CLASSES)
            pick = truth if rng.random() < 0.8 else rng.randrange(len(CLASSES))
            got = await clients[index].submit(response.task.name, answers[pick], want_next=args.want_next)
            offered[index] = got.next if args.want_next else None
            return True

        judged, wall, cpu = await _measured(
            server.proc.pid, args.workers, args.warm, args.warm + args.judgments, judge
        )
        per_judgment = 1 if args.want_next else 2
        for client in clients:
            await client.close()
        return {
            "judgments": judged,
            "judgments_per_s": round(judged / wall, 1),
            "server_cpu_ms_per_rpc": round(1000 * cpu / (per_judgment * judged), 3),
            "server_cpu_ms_per_judgment": round(1000 * cpu / judged, 3),
            "server_cpu_share": round(cpu / wall, 3),
            "load_1m": round(os.getloadavg()[0], 1),
        }
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def echo_round(args: argparse.Namespace) -> dict[str, Any]:
    """The echo server at the same RPCs per second: two calls a judgment slot (one with
    `--want-next`), each
    with a bearer token and a small payload, as throughput.py's echo phase sends."""
    workdir = Path(tempfile.mkdtemp(prefix="labelwire-rpc-cpu-echo-"))
    echo = start_echo(workdir)
    try:
        metadata = (("authorization", "Bearer " + "x" * 48),)
        payload = b"\x0a\x20" + b"j" * 32
        channels = [grpc.aio.insecure_channel(echo.target) for _ in range(args.workers)]
        calls = [ch.unary_unary(ECHO_METHOD) for ch in channels]
        for call in calls:
            await call(payload, metadata=metadata)
        pacer = Pacer(args.rate)

        per_judgment = 1 if args.want_next else 2

        async def slot(index: int, _: random.Random) -> bool:
            await pacer.wait()
            for _call in range(per_judgment):
                await calls[index](payload, metadata=metadata)
            return True

        slots, wall, cpu = await _measured(
            echo.proc.pid, args.workers, args.warm, args.warm + args.judgments, slot
        )
        for ch in channels:
            await ch.close(None)
        return {
            "rpcs": per_judgment * slots,
            "rpcs_per_s": round(per_judgment * slots / wall, 1),
            "server_cpu_ms_per_rpc": round(1000 * cpu / (per_judgment * slots), 3),
            "server_cpu_share": round(cpu / wall, 3),
            "load_1m": round(os.getloadavg()[0], 1),
        }
    finally:
        echo.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="labelwire-rpc-cpu-before-"))
    try:
        trees: list[tuple[str, Path | None]] = [("this tree", None)]
        if args.before:
            trees.insert(0, (args.before, source_of(args.before, scratch)))
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in trees}
        if args.echo:
            runs["echo"] = []
        for round_ in range(args.rounds):
            order = trees if round_ % 2 == 0 else trees[::-1]
            for name, source in order:
                runs[name].append(await labelwire_round(args, source))
                print(json.dumps({"round": round_ + 1, "tree": name, **runs[name][-1]}), flush=True)
            if args.echo:
                runs["echo"].append(await echo_round(args))
                print(json.dumps({"round": round_ + 1, "tree": "echo", **runs["echo"][-1]}), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        name: {
            "median_cpu_ms_per_rpc": statistics.median(r["server_cpu_ms_per_rpc"] for r in rs),
            "cpu_ms_per_rpc": [r["server_cpu_ms_per_rpc"] for r in rs],
            "load_1m": [r["load_1m"] for r in rs],
        }
        for name, rs in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=150.0, help="judgments per second (default 150)")
    parser.add_argument("--workers", type=int, default=64, help="concurrent workers (default 64)")
    parser.add_argument("--judgments", type=int, default=4500, help="judgments measured (default 4,500)")
    parser.add_argument(
        "--warm", type=int, default=300, help="judgments before the clock starts (default 300)"
    )
    parser.add_argument("--before", metavar="REV", help="also measure commit REV's code, alternately")
    parser.add_argument("--echo", action="store_true", help="also measure the echo server at the same rate")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree (default 1)")
    parser.add_argument(
        "--want-next",
        action="store_true",
        help="SubmitJudgment with want_next, one RPC a judgment (default: NextTask then SubmitJudgment)",
    )
    args = parser.parse_args()
    if not args.before and not args.echo and args.rounds == 1:
        print(json.dumps(asyncio.run(labelwire_round(args, None))))  # one JSON line, as before
        return
    print(json.dumps({"summary": asyncio.run(run(args))}))


if __name__ == "__main__":
    main()
