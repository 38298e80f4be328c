"""What an echo RPC costs when its handler waits like labelwire's: the part of
labelwire's CPU per RPC that its shape (a handler that waits for the store's
writer thread) costs before any of its own work.

Why it is built this way:

* The echo server of throughput.py is run in four forms, each its own process:
  `plain` (it answers at once), `suspend` (it awaits once, `asyncio.sleep(0)`),
  `thread` (it hands a future to another thread and waits for it to be settled
  with `call_soon_threadsafe`, as every store call does) and `wrapped` (the
  same, with labelwire's per-call wrapper from `transport/grpc/calls.py`:
  request id, log line, metrics), one after the other, `--rounds` times.
* Callers are paced to a fixed rate (`--rate` RPCs/s, 64 channels), below what
  the server does on a busy machine, and the server's CPU (all threads, from
  /proc) over a fixed number of calls is the figure, as in rpc_cpu.py.

Not part of the tests: `python bench/echo_handoff.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import proc_cpu_seconds
from throughput.settings import ECHO_METHOD

FORMS = ("plain", "suspend", "thread", "wrapped")


async def serve(form: str) -> None:
    from labelwire.server.transport.grpc.calls import WrappingRegistry

    handoff: queue.SimpleQueue[tuple[asyncio.Future[None], asyncio.AbstractEventLoop]] = queue.SimpleQueue()

    def settle() -> None:
        while True:
            fut, loop = handoff.get()
            loop.call_soon_threadsafe(fut.set_result, None)

    threading.Thread(target=settle, daemon=True).start()

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        if form == "suspend":
            await asyncio.sleep(0)
        elif form in ("thread", "wrapped"):
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            handoff.put((fut, loop))
            await fut
        return request

    server = grpc.aio.server()
    handlers = {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    target: Any = WrappingRegistry(server) if form == "wrapped" else server
    target.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("labelwire.bench.Echo", handlers),))
    target.add_registered_method_handlers("labelwire.bench.Echo", handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


async def drive(port: int, pid: int, args: argparse.Namespace) -> float:
    """Server CPU ms per RPC over `args.calls` paced calls, after `args.warm`."""
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(64)]
    calls = [channel.unary_unary(ECHO_METHOD) for channel in channels]
    metadata = (("authorization", "Bearer " + "x" * 48),)
    payload = b"\x0a\x20" + b"j" * 32
    for call in calls:
        await call(payload, metadata=metadata)
    every, slot, done, mark = 1.0 / args.rate, [time.perf_counter()], [0], [0.0]
    goal = args.warm + args.calls

    async def loop(call: Any) -> None:
        while done[0] < goal:
            now = time.perf_counter()
            slot[0] = max(slot[0], now) + every
            await asyncio.sleep(slot[0] - now)
            await call(payload, metadata=metadata)
            done[0] += 1
            if done[0] == args.warm:
                mark[0] = proc_cpu_seconds(pid)

    await asyncio.gather(*(loop(call) for call in calls))
    cpu = proc_cpu_seconds(pid) - mark[0]
    for channel in channels:
        await channel.close(None)
    return 1000 * cpu / (done[0] - args.warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=600.0, help="RPCs per second (default 600)")
    parser.add_argument("--calls", type=int, default=6000, help="calls measured per run (default 6,000)")
    parser.add_argument("--warm", type=int, default=500, help="calls before the clock starts (default 500)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each form (default 2)")
    parser.add_argument("--serve", choices=FORMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    runs: dict[str, list[float]] = {form: [] for form in FORMS}
    for round_ in range(args.rounds):
        for form in FORMS:
            proc = subprocess.Popen([sys.executable, __file__, "--serve", form], stdout=subprocess.PIPE)
            try:
                assert proc.stdout is not None
                port = int(proc.stdout.readline())
                runs[form].append(round(asyncio.run(drive(port, proc.pid, args)), 3))
            finally:
                proc.terminate()
                proc.wait()
            line = {"round": round_ + 1, "form": form, "cpu_ms_per_rpc": runs[form][-1]}
            print(json.dumps({**line, "load_1m": round(os.getloadavg()[0], 1)}), flush=True)
    print(json.dumps({"median_cpu_ms_per_rpc": {f: statistics.median(r) for f, r in runs.items()}}))


if __name__ == "__main__":
    main()
