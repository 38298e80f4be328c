"""What the friendly SDK costs per call over the raw protobuf client: sequential
GetJob calls per second through `labelwire.client.raw.Client`, through
`AsyncClient` (dataclasses, error translation, the default-deadline interceptor,
the retry service config) and through the blocking `Client` (each call handed
to the client's loop thread and back), against one `labelwire serve` child
process, rounds rotating which goes first, as ratios to raw. Also this
process's CPU time per call (the server is another process): steadier than
the rate on a loaded machine.

    .venv/bin/python bench/sdk_overhead.py              # 3 rounds of 3 s each way
    .venv/bin/python bench/sdk_overhead.py --seconds 5 --rounds 5

Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labelwire.client import AdminClient, AsyncClient, Client, raw
from tests.serve_process import serve


async def async_rate(call: Callable[[], Awaitable[object]], seconds: float) -> tuple[float, float]:
    """Calls per second, and this process's CPU microseconds per call."""
    done = 0
    started, cpu = time.perf_counter(), time.process_time()
    end = started + seconds
    while time.perf_counter() < end:
        await call()
        done += 1
    return done / (time.perf_counter() - started), (time.process_time() - cpu) / done * 1e6


def sync_rate(call: Callable[[], object], seconds: float) -> tuple[float, float]:
    done = 0
    started, cpu = time.perf_counter(), time.process_time()
    end = started + seconds
    while time.perf_counter() < end:
        call()
        done += 1
    return done / (time.perf_counter() - started), (time.process_time() - cpu) / done * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, serve(Path(scratch)) as served:
        admin_key = (Path(scratch) / "labelwire-data" / "labelwire.db.admin-key").read_text().strip()
        with AdminClient(served.target, admin_key) as admin:
            key = admin.create_api_key("bench")
        blocking = Client(served.target, key)
        job = blocking.create_job("bench", classes=["a", "b"]).name
        loop = asyncio.new_event_loop()

        async def connect() -> tuple[raw.Client, AsyncClient]:
            # A grpc.aio channel belongs to the loop it is made on.
            return raw.Client(served.target, key), AsyncClient(served.target, key)

        raw_client, friendly = loop.run_until_complete(connect())

        def measure(kind: str) -> tuple[float, float]:
            if kind == "raw":
                return loop.run_until_complete(async_rate(lambda: raw_client.get_job(job), args.seconds))
            if kind == "AsyncClient":
                return loop.run_until_complete(async_rate(lambda: friendly.get_job(job), args.seconds))
            return sync_rate(lambda: blocking.get_job(job), args.seconds)

        kinds = ["raw", "AsyncClient", "Client"]
        ratios: dict[str, list[float]] = {"AsyncClient": [], "Client": []}
        cpu_ratios: dict[str, list[float]] = {"AsyncClient": [], "Client": []}
        for n in range(args.rounds):
            order = kinds[n % 3 :] + kinds[: n % 3]  # rotate who goes first: a trend in load cancels out
            rates = {kind: measure(kind) for kind in order}
            for kind in ratios:
                ratios[kind].append(rates[kind][0] / rates["raw"][0])
                cpu_ratios[kind].append(rates[kind][1] / rates["raw"][1])
            print(
                f"round {n + 1}: "
                + ", ".join(f"{k} {rates[k][0]:,.0f} calls/s {rates[k][1]:,.0f} µs CPU/call" for k in kinds)
            )
        for kind, values in ratios.items():
            print(
                f"median ratio {kind} / raw: calls/s {statistics.median(values):.2f},"
                f" client CPU per call {statistics.median(cpu_ratios[kind]):.2f}"
            )
        loop.run_until_complete(raw_client.close())
        loop.run_until_complete(friendly.close())
        loop.close()
        blocking.close()
        served.stop()


if __name__ == "__main__":
    main()
