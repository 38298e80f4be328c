"""The judgment round trip (NextTask, then SubmitJudgment) over the HTTP port
beside the gRPC port of the same server, in the same run, as ratios.

Why it is built this way:

* One `labelwire serve` process (temporary SQLite file) serves both ports, so
  every transport reaches the same servicers, core and store; only the wire
  differs.
* The client is this process, one event loop: grpc.aio (the labelwire SDK's
  channel) for gRPC, and the Connect project's own Python client (`connectrpc`
  over pyqwest) for Connect JSON on HTTP/1.1, Connect binary on HTTP/2 (prior
  knowledge) and gRPC-Web binary on HTTP/1.1.
* `--workers` workers per transport run round trips back to back, each on its
  own job item, so a judgment is counted once SubmitJudgment answered (the
  server answers after the commit). Rounds alternate the transports
  (`--rounds`, each `--seconds` long, the order rotating each round) so a busy
  spell on this shared machine falls on all of them. Two ratios: each
  transport's median rate over gRPC's, and the median over rounds of the
  ratio within one round (less moved by load that comes and goes).
* The client's own cost (grpc's C core against connectrpc over pyqwest) is
  in those rates, so the server's CPU time per round trip (from psutil) is
  given beside them: what the HTTP port costs the server.

Not part of the tests: `python bench/connect_roundtrip.py --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
from connectrpc.client import ConnectClient
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.protocol import ProtocolType
from pyqwest import Client as HTTPClient
from pyqwest import HTTPTransport, HTTPVersion

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.transport.http.services import method_info
from labelwire.v1 import worker_service_pb2

ADMIN_KEY = "bench-admin-key"
CLASSES = ["pos", "neg"]
NEXT = method_info("/labelwire.v1.WorkerService/NextTask")
SUBMIT = method_info("/labelwire.v1.WorkerService/SubmitJudgment")
RoundTrip = Callable[[], Awaitable[bool]]


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labelwire.server.cli.main",
                "serve",
                "--log-format",
                "json",
                "--address",
                "127.0.0.1:0",
                "--http-address",
                "127.0.0.1:0",
                "--database",
                str(folder / "bench.db"),
                "--admin-key",
                ADMIN_KEY,
            ],
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if record.get("event") == "start":
                return process, record["address"], record["http_address"]
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"labelwire serve did not start:\n{log.read_text()}")


def grpc_round_trip(worker: WorkerClient) -> RoundTrip:
    async def once() -> bool:
        offered = await worker.next_task()
        if not offered.HasField("task"):
            return False
        await worker.submit(offered.task.name, classification(offered.task.text))
        return True

    return once


def connect_round_trip(client: ConnectClient, token: str) -> RoundTrip:
    headers = {"authorization": f"Bearer {token}"}

    async def once() -> bool:
        offered = await client.execute_unary(
            request=worker_service_pb2.NextTaskRequest(), method=NEXT, headers=headers
        )
        if not offered.HasField("task"):
            return False
        await client.execute_unary(
            request=worker_service_pb2.SubmitJudgmentRequest(
                task=offered.task.name, answer=classification(offered.task.text)
            ),
            method=SUBMIT,
            headers=headers,
        )
        return True

    return once


COMPRESSION: dict[str, Any] = {}


def connect_client(url: str, protocol: ProtocolType, *, json_codec: bool, http2: bool) -> ConnectClient:
    http = HTTPClient(HTTPTransport(http_version=HTTPVersion.HTTP2 if http2 else HTTPVersion.HTTP1))
    codec = google_protobuf_json_codec() if json_codec else google_protobuf_binary_codec()
    return ConnectClient(url, codec=codec, protocol=protocol, http_client=http, **COMPRESSION)


def server_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def timed(round_trips: list[RoundTrip], seconds: float, pid: int) -> tuple[float, float]:
    """Round trips per second by all workers together for `seconds`, and the
    server's CPU milliseconds per round trip meanwhile."""
    done = 0
    cpu = server_cpu(pid)
    end = time.perf_counter() + seconds

    async def run(once: RoundTrip) -> None:
        nonlocal done
        while time.perf_counter() < end:
            if not await once():
                raise RuntimeError("the job ran out of items: raise --items")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(run(once) for once in round_trips))
    rate = done / (time.perf_counter() - started)
    return rate, (server_cpu(pid) - cpu) * 1000 / max(done, 1)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="connect-bench-"))
    process, target, http = start_server(folder)
    url = f"http://{http}"
    try:
        async with AdminClient(target, ADMIN_KEY) as admin:
            key = await admin.create_api_key("bench")
        lw = Client(target, key)
        transports: dict[str, list[RoundTrip]] = {}
        names = ["gRPC", "Connect JSON HTTP/1.1", "Connect binary HTTP/2", "gRPC-Web binary HTTP/1.1"]
        workers: list[WorkerClient] = []
        for name in names:
            job = await lw.create_job(name, classes=CLASSES, judgments_per_item=1, quiz_size=0)
            for first in range(0, args.items, 10_000):
                batch = range(first, min(args.items, first + 10_000))
                await lw.add_items(job.name, [text_item(f"i{n}", CLASSES[n % 2]) for n in batch])
            await lw.start_job(job.name)
            round_trips: list[RoundTrip] = []
            for n in range(args.workers):
                _, token = await lw.create_worker(job.name, f"w{n}")
                if name == "gRPC":
                    worker = WorkerClient(target, token)
                    workers.append(worker)
                    round_trips.append(grpc_round_trip(worker))
                elif name.startswith("Connect JSON"):
                    client = connect_client(url, ProtocolType.CONNECT, json_codec=True, http2=False)
                    round_trips.append(connect_round_trip(client, token))
                elif name.startswith("Connect binary"):
                    client = connect_client(url, ProtocolType.CONNECT, json_codec=False, http2=True)
                    round_trips.append(connect_round_trip(client, token))
                else:
                    client = connect_client(url, ProtocolType.GRPC_WEB, json_codec=False, http2=False)
                    round_trips.append(connect_round_trip(client, token))
            transports[name] = round_trips
        for round_trips in transports.values():  # warm up connections and caches
            await timed(round_trips, 1.0, process.pid)
        rates: dict[str, list[float]] = {name: [] for name in names}
        cpu_ms: dict[str, list[float]] = {name: [] for name in names}
        for n in range(args.rounds):
            for name in names[n % len(names) :] + names[: n % len(names)]:
                rate, cpu = await timed(transports[name], args.seconds, process.pid)
                rates[name].append(rate)
                cpu_ms[name].append(cpu)
        for worker in workers:
            await worker.close()
        await lw.close()
    finally:
        process.terminate()
        process.wait(30)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    paired = {
        name: statistics.median(x / g for x, g in zip(rs, rates["gRPC"], strict=True))
        for name, rs in rates.items()
    }
    return {
        "workers": args.workers,
        "compression": not args.no_compression,
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
        "load_average": os.getloadavg(),
        "round_trips_per_second": {name: round(m, 1) for name, m in medians.items()},
        "ratio_to_grpc": {name: round(m / medians["gRPC"], 3) for name, m in medians.items()},
        "median_ratio_in_the_same_round": {name: round(r, 3) for name, r in paired.items()},
        "server_cpu_ms_per_round_trip": {name: round(statistics.median(c), 2) for name, c in cpu_ms.items()},
        "per_round": {name: [round(r, 1) for r in rs] for name, rs in rates.items()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1, help="concurrent workers per transport (default 1)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="length of one transport's round (default 4)"
    )
    parser.add_argument(
        "--items", type=int, default=20_000, help="items per transport's job (default 20,000)"
    )
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="Connect clients neither send nor accept gzip (by default they do both, as connectrpc's client does)",
    )
    parsed = parser.parse_args()
    if parsed.no_compression:
        COMPRESSION.update(accept_compression=[], send_compression=None)
    result = asyncio.run(main(parsed))
    print(json.dumps(result, indent=2))
    print(re.sub(r"[{}\"]", "", json.dumps(result["median_ratio_in_the_same_round"])), file=sys.stderr)
