"""What the credential cache saves: GetJob calls per second with a checked key
trusted for `--credential-cache-seconds` (2 s, the default) against checking it
in the database on every call (0), in the same run, as a ratio.

    .venv/bin/python bench/credentials.py            # 3 rounds of 3 s each way
    .venv/bin/python bench/credentials.py --seconds 10 --rounds 5

Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from labelwire.client.raw import AdminClient, Client
from labelwire.server.transport.app import start_server

ADMIN_KEY = "bench-admin-key"
CONCURRENCY = 16


async def calls_per_second(cache_seconds: float, seconds: float, folder: Path) -> float:
    running = await start_server(
        address="127.0.0.1:0",
        database=str(folder / f"bench-{cache_seconds}.db"),
        admin_key=ADMIN_KEY,
        credential_cache_seconds=cache_seconds,
    )
    target = f"127.0.0.1:{running.port}"
    try:
        async with AdminClient(target, ADMIN_KEY) as admin:
            key = await admin.create_api_key("bench")
        async with Client(target, key) as lw:
            job = await lw.create_job("bench", classes=["a", "b"])
            done = 0
            end = time.perf_counter() + seconds

            async def caller() -> None:
                nonlocal done
                while time.perf_counter() < end:
                    await lw.get_job(job.name)
                    done += 1

            started = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
            return done / (time.perf_counter() - started)
    finally:
        await running.stop(grace=None)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.rounds):
            cached = await calls_per_second(2.0, args.seconds, Path(scratch))
            uncached = await calls_per_second(0.0, args.seconds, Path(scratch))
            ratios.append(cached / uncached)
            print(f"round {n + 1}: cached {cached:,.0f} calls/s, uncached {uncached:,.0f} calls/s")
    print(f"median ratio cached / uncached: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
