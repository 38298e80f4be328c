"""The server the fuzz test calls: a real `labelwire serve` with every
service, a files root and an S3 prefix, its clock frozen."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from labelwire.client.raw import AdminClient, Client, text_item
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import (
    adapter_service_pb2,
    adapter_service_pb2_grpc,
)
from tests.conftest import ADMIN_KEY
from tests.helpers import CLASSES

FROZEN = 1_800_000_000.0
DEEP_JSON = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"


@dataclass
class Target:
    address: str
    database: Path
    tokens: dict[str, str]
    uris: list[str]
    export_uris: list[str]
    names: list[str]
    channel: grpc.Channel


def _serve(folder: Path) -> Iterator[Target]:
    """A server with two clients, a running job with labels, a worker, and
    files that manifests cannot be read from."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    database = folder / "fuzz.db"
    running: Running = run(
        start_server(
            address="127.0.0.1:0", database=str(database), admin_key=ADMIN_KEY, clock=lambda: FROZEN, seed=0
        )
    )
    address = f"127.0.0.1:{running.port}"

    async def seed() -> dict[str, str]:
        async with AdminClient(address, ADMIN_KEY) as admin:
            key, other_key = await admin.create_api_key("fuzz"), await admin.create_api_key("other")
        async with Client(address, key) as lw, Client(address, other_key) as other:
            job = await lw.create_job(
                "J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0
            )
            await lw.add_items(job.name, [text_item(f"i{n}", f"t{n}", metadata={"n": n}) for n in range(3)])
            await lw.start_job(job.name)
            _, worker = await lw.create_worker(job.name, "w")
            await other.create_job("Other", classes=CLASSES)
            for n in range(3):  # jobs/3 and jobs/4 for state changes, jobs/5 for the rest
                await lw.create_job(f"Draft {n}", classes=CLASSES)
            # teams/1 with workers/1 in it, named by jobs/6; teams/2 for DeleteTeam; workers/2 in no team
            team = await lw.create_team("crowd")
            await lw.create_team("spare")
            member = await lw.create_worker_account("member")
            await lw.create_worker_account("spare")
            await lw.add_team_member(team.name, member.name)
            account = await lw.issue_worker_account_token(member.name)
            teamed = await lw.create_job("Teamed", classes=CLASSES, quiz_size=0, teams=[team.name])
            await lw.add_items(teamed.name, [text_item("t0", "t")])
            await lw.start_job(teamed.name)
            # jobs/7: served by the adapter `vendor` in its own process, with r0 claimed
            async with AdminClient(address, ADMIN_KEY) as admin:
                adapter = (await admin.create_adapter_key("vendor")).adapter_key
            remote = await lw.create_job(
                "Remote",
                classes=CLASSES,
                quiz_size=0,
                workforce="remote",
                workforce_settings={"adapter": "vendor"},
            )
            await lw.add_items(remote.name, [text_item(f"r{n}", f"t{n}") for n in range(3)])
            await lw.start_job(remote.name)
            async with grpc.aio.insecure_channel(address) as channel:
                await adapter_service_pb2_grpc.WorkforceAdapterServiceStub(channel).ClaimItems(
                    adapter_service_pb2.ClaimItemsRequest(job=remote.name, claim_id="c0", max_items=1),
                    metadata=(("authorization", f"Bearer {adapter}"),),
                )
        return {
            "client": key,
            "worker": worker,
            "account": account,
            "admin": ADMIN_KEY,
            "adapter": adapter,
            "none": "",
        }

    tokens = run(seed())
    with sqlite3.connect(database) as source, sqlite3.connect(folder / "copy-of-the-database.db") as copy:
        source.backup(copy)
    (folder / "latin1.jsonl").write_bytes(b'{"source": "caf\xe9"}\n')
    (folder / "good.jsonl").write_text('{"source": "a", "k": "1"}\n')
    (folder / "folder").mkdir()
    for depth in (500, 100_000):
        (folder / f"deep{depth}.jsonl").write_text(
            '{"source": "a", "m": ' + "[" * depth + "]" * depth + "}\n"
        )
    # Read by ImportManifest only: an export could overwrite any of them.
    uris = [
        "",
        str(folder / "good.jsonl"),
        str(folder / "latin1.jsonl"),
        str(folder / "folder"),
        str(folder / "copy-of-the-database.db"),
        str(folder / "out.jsonl"),
        "/" + "x" * 4098,
        "s3://",
        "s3:///key",
        "file://" + str(folder / "missing.csv"),
        str(folder / "deep500.jsonl"),
        str(folder / "deep100000.jsonl"),
    ]
    # Exports write: never over the files above, nor anything outside the folder.
    export_uris = [
        "",
        str(folder / "out.jsonl"),
        str(folder / "new" / "out.jsonl"),
        str(folder / "folder"),
        "/" + "x" * 4098,
        "s3://",
        "s3:///key",
    ]
    names = [
        "",
        "jobs/1",
        "jobs/2",
        "jobs/3",
        "jobs/6",
        "jobs/0",
        "jobs/99999999999999999999",
        "jobs/9223372036854775807",
        "jobs/²",
        "jobs/١",
        "x/y/jobs/1",
        "jobs/1/tasks/1",
        "jobs/1/tasks/99999999999999999999",
        "jobs/1/tasks/١",
        "teams/1",
        "teams/2",
        "teams/99999999999999999999",
        "teams/١",
        "workers/1",
        "workers/2",
        "workers/0",
        "workers/١",
        "jobs/7",
        "adapters/1/keys/9",
        "adapters/1/keys/١",
        "99999999999999999999",
        "lwc_99999999999999999999_x",
        "a" * 5000,
        "\x00",
        *CLASSES,
        DEEP_JSON,
        '{"a": NaN}',
        "{}",
    ]
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    try:
        yield Target(
            address=address,
            database=database,
            tokens=tokens,
            uris=uris,
            export_uris=export_uris,
            names=names,
            channel=channel,
        )
    finally:
        channel.close()
        run(running.stop(grace=None))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
