"""Server memory held by StreamLabels calls whose client never reads.

Starts `labelwire serve` on a temporary SQLite file as its own process, labels
a job's items (each with item metadata, so label messages are large), then
opens `--streams` StreamLabels calls that never read a message, from one
client key, waits, and reads the server's RSS. Prints one JSON line. `--server-path DIR` puts DIR first on the server's
PYTHONPATH, to measure another build of the server (a checkout laid out as the
`labelwire` package) with the same driver.

    .venv/bin/python bench/idle_streams.py     # 50 streams, one client, default limit
    .venv/bin/python bench/idle_streams.py --server-arg=--max-streams-per-client=50   # all 50 open
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import psutil

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.v1 import label_service_pb2, label_service_pb2_grpc

ADMIN_KEY = "bench-admin-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(target: str) -> None:
    for _ in range(200):
        try:
            async with AdminClient(target, ADMIN_KEY) as admin:
                await admin.create_api_key("probe")
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


async def label_everything(target: str, key: str, items: int, metadata_bytes: int) -> str:
    async with Client(target, key) as lw:
        job = await lw.create_job("Idle streams", classes=["pos", "neg"], judgments_per_item=1, quiz_size=0)
        blob = "m" * metadata_bytes
        await lw.add_items(
            job.name, [text_item(f"i{n}", f"text {n}", metadata={"blob": blob}) for n in range(items)]
        )
        await lw.start_job(job.name)
        tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(8)]

    async def work(token: str) -> None:
        async with WorkerClient(target, token) as worker:
            while (task := await worker.next_task()).HasField("task"):
                await worker.submit(task.task.name, classification("pos"))

    await asyncio.gather(*(work(t) for t in tokens))
    return str(job.name)


async def run(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    target = f"127.0.0.1:{port}"
    env = dict(os.environ)
    if args.server_path:
        env["PYTHONPATH"] = os.pathsep.join([args.server_path, env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labelwire.server.cli.main",
                "serve",
                "--address",
                target,
                "--http-address",
                "",
                "--database",
                str(Path(folder) / "bench.db"),
                "--admin-key",
                ADMIN_KEY,
                *args.server_arg,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_ready(target)
            async with AdminClient(target, ADMIN_KEY) as admin:
                key = await admin.create_api_key("bench")
            job = await label_everything(target, key, args.items, args.metadata_bytes)
            process = psutil.Process(server.pid)
            time.sleep(1)
            before = process.memory_info().rss
            channels = [grpc.aio.insecure_channel(target) for _ in range(args.streams)]
            calls = []
            for channel in channels:
                stub = label_service_pb2_grpc.LabelServiceStub(channel)
                calls.append(
                    stub.StreamLabels(
                        label_service_pb2.StreamLabelsRequest(job=job),
                        metadata=(("authorization", f"Bearer {key}"),),
                    )
                )
            await asyncio.sleep(args.hold_seconds)
            during = process.memory_info().rss
            refused = 0
            for call in calls:
                if call.done() and await call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    refused += 1
            for call in calls:
                call.cancel()
            for channel in channels:
                await channel.close()
            return {
                "streams": args.streams,
                "server_args": args.server_arg,
                "items_per_job": args.items,
                "metadata_bytes": args.metadata_bytes,
                "refused_resource_exhausted": refused,
                "rss_before_mb": round(before / 1e6, 1),
                "rss_with_streams_mb": round(during / 1e6, 1),
                "rss_added_mb": round((during - before) / 1e6, 1),
                "added_per_open_stream_mb": round(
                    (during - before) / 1e6 / max(1, args.streams - refused), 2
                ),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--server-arg", action="append", default=[], help="extra `labelwire serve` argument")
    parser.add_argument("--items", type=int, default=3000, help="labeled items per job")
    parser.add_argument("--metadata-bytes", type=int, default=2000, help="item metadata size")
    parser.add_argument("--hold-seconds", type=float, default=8.0)
    parser.add_argument("--server-path", default="", help="PYTHONPATH entry with another build of labelwire")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
