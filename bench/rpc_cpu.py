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
  `../base/.venv/bin/python bench/rpc_cpu.py`.

Not part of the tests: `python bench/rpc_cpu.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import CLASSES, proc_cpu_seconds, start_labelwire


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item

    workdir = Path(tempfile.mkdtemp(prefix="labelwire-rpc-cpu-"))
    admin_key = secrets.token_urlsafe(24)
    server = start_labelwire(workdir, admin_key)
    pid = server.proc.pid
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
        goal = args.warm + args.judgments
        done = [0]
        slot = [time.perf_counter()]
        mark: dict[str, float] = {}

        async def paced() -> None:
            now = time.perf_counter()
            slot[0] = max(slot[0], now) + 1.0 / args.rate
            await asyncio.sleep(slot[0] - now)

        async def worker(client: WorkerClient, rng: random.Random) -> None:
            while done[0] < goal:
                await paced()
                response = await client.next_task()
                if not response.HasField("task"):
                    await asyncio.sleep(0.05)
                    continue
                truth = int(response.task.text.split(":", 1)[0].removeprefix("Review ")) % len(CLASSES)
                pick = truth if rng.random() < 0.8 else rng.randrange(len(CLASSES))
                await client.submit(response.task.name, answers[pick])
                done[0] += 1
                if done[0] == args.warm:
                    mark["wall"], mark["cpu"] = time.perf_counter(), proc_cpu_seconds(pid)

        await asyncio.gather(*(worker(c, random.Random(i)) for i, c in enumerate(clients)))
        wall, cpu = time.perf_counter() - mark["wall"], proc_cpu_seconds(pid) - mark["cpu"]
        for client in clients:
            await client.close()
        judged = done[0] - args.warm
        return {
            "judgments": judged,
            "judgments_per_s": round(judged / wall, 1),
            "server_cpu_ms_per_rpc": round(1000 * cpu / (2 * judged), 3),
            "server_cpu_share": round(cpu / wall, 3),
            "load_1m": round(os.getloadavg()[0], 1),
        }
    finally:
        server.stop()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=150.0, help="judgments per second (default 150)")
    parser.add_argument("--workers", type=int, default=64, help="concurrent workers (default 64)")
    parser.add_argument("--judgments", type=int, default=4500, help="judgments measured (default 4,500)")
    parser.add_argument(
        "--warm", type=int, default=300, help="judgments before the clock starts (default 300)"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
