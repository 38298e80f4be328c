"""Nothing acknowledged is lost when the server is killed under load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any

import grpc
import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification
from labelwire.server.store import Tx, open_store
from tests.helpers import drain, running_job, truth

ADMIN = "kill-test-admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(database: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labelwire.server.cli.main",
            "serve",
            "--address",
            f"127.0.0.1:{port}",
            "--database",
            database,
            "--admin-key",
            ADMIN,
            "--http-address",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        await asyncio.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


async def acknowledged_in_store(database: str, acked: list[tuple[str, str]]) -> list[tuple[str, Any, str]]:
    """(task, stored answer, item key) of each acknowledged task, read from the
    database itself; a task whose judgment is missing has answer None."""

    def read(tx: Tx) -> list[tuple[str, Any, str]]:
        found = []
        for name, _ in acked:
            task_id = int(name.rsplit("/", 1)[1])
            judgment, task = tx.judgment(task_id), tx.task(task_id)
            item = tx.item(int(task.item_id)) if task is not None else None
            answer = json.loads(judgment.answer) if judgment is not None else None
            found.append((name, answer, str(item.key) if item is not None else ""))
        return found

    store = open_store(database)
    try:
        return await store.read(read)
    finally:
        store.close()


async def judge(target: str, token: str, acked: list[tuple[str, str]]) -> None:
    """Judges what `target` leases, each task right, until it has nothing left or stops
    answering; each acknowledged task's name and text go to `acked`."""
    async with WorkerClient(target, token) as w:
        with contextlib.suppress(grpc.aio.AioRpcError):
            while True:
                t = await w.next_task()
                if not t.HasField("task"):
                    return
                await w.submit(t.task.name, classification(truth(t.task.text)))
                acked.append((t.task.name, t.task.text))


async def acknowledged(acked: list[tuple[str, str]], count: int) -> None:
    while len(acked) < count:
        await asyncio.sleep(0.01)


@pytest.mark.timeout(300)  # two server starts and a 120 s bound on the load phase
async def test_sigkill_under_load_loses_no_acknowledged_judgment_or_label(database: str) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = await start(database, port)
    async with AdminClient(target, ADMIN) as admin:
        key = await admin.create_api_key("ml")
    lw = Client(target, key)
    job = await running_job(lw, items=300)
    tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(8)]
    acked: list[tuple[str, str]] = []
    load = [asyncio.create_task(judge(target, t, acked)) for t in tokens]
    await asyncio.wait_for(acknowledged(acked, 60), 120)  # a bound against a hang, not a speed test
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    await asyncio.wait_for(asyncio.gather(*load), 10)
    await lw.close()

    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = await start(database, port)
    try:
        lw = Client(target, key)
        stored = await acknowledged_in_store(database, acked)
        assert [(name, answer) for name, answer, _ in stored] == [
            (name, {"classification": {"class_name": truth(text)}}) for name, text in acked
        ]
        labels = await drain(lw.stream_labels(job.name, snapshot_only=True))
        assert [lab.sequence for lab in labels] == list(range(1, len(labels) + 1))
        labeled = {lab.item_key: lab.value.classification.class_name for lab in labels}
        for (_, text), (_, _, item_key) in zip(acked, stored, strict=True):
            assert labeled.get(item_key) == truth(text), f"the label of acknowledged item {item_key} is lost"
        async with WorkerClient(target, tokens[0]) as w:
            while (t := await w.next_task()).HasField("task"):
                await w.submit(t.task.name, classification(truth(t.task.text)))
        final = await drain(lw.stream_labels(job.name, snapshot_only=True))
        keys = [lab.item_key for lab in final]
        assert len(keys) == len(set(keys)) and all(lab.revision == 1 for lab in final)
        assert [lab.sequence for lab in final] == list(range(1, len(final) + 1))
        leased_by_the_dead = (await lw.get_job(job.name)).counters.in_progress_items
        assert len(final) + leased_by_the_dead == 300
        await lw.close()
    finally:
        proc.terminate()
        proc.wait()
