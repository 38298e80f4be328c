"""A forward between jobs is written with the label that causes it: killed
at any point, the server comes back with every labeled item that met the
rule in the downstream job, and none twice."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from labelwire.client.raw import AdminClient, Client, WorkerClient, classification, text_item
from labelwire.server.store import open_store
from labelwire.v1 import job_pb2
from tests.helpers import CLASSES, drain, truth
from tests.test_kill_restart import ADMIN, acknowledged, free_port, judge, start

ITEMS = 240


@pytest.mark.timeout(300)  # two server starts and a 120 s bound on the load phase
async def test_sigkill_under_load_forwards_each_matching_label_exactly_once(database: str) -> None:
    port = free_port()
    target = f"127.0.0.1:{port}"
    proc = await start(database, port)
    async with AdminClient(target, ADMIN) as admin:
        key = await admin.create_api_key("ml")
    lw = Client(target, key)
    expert = await lw.create_job("Expert", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    spec = job_pb2.Job()
    spec.routing_rules.append(job_pb2.RoutingRule(target_job=expert.name, classes=["neg"]))
    job = await lw.create_job("Sentiment", classes=CLASSES, judgments_per_item=1, quiz_size=0, job=spec)
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(ITEMS)])
    await lw.start_job(job.name)
    tokens = [(await lw.create_worker(job.name, f"w{i}"))[1] for i in range(6)]
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
        expert_id = int(expert.name.rsplit("/", 1)[1])
        for round_ in ("after the kill", "after the rest is labeled"):
            labels = await drain(lw.stream_labels(job.name, snapshot_only=True))
            negative = {lab.item_key for lab in labels if lab.value.classification.class_name == "neg"}
            assert negative, f"some negative labels {round_}"
            forwarded = await _item_keys(database, expert_id)
            assert len(forwarded) == len(set(forwarded)), f"an item forwarded twice {round_}"
            assert set(forwarded) == negative, f"each negative label's item is in the expert job {round_}"
            assert (await lw.get_job(expert.name)).counters.total_items == len(negative)
            async with WorkerClient(target, tokens[0]) as w:
                while (t := await w.next_task()).HasField("task"):
                    await w.submit(t.task.name, classification(truth(t.task.text)))
        await lw.close()
    finally:
        proc.terminate()
        proc.wait()


async def _item_keys(database: str, job_id: int) -> list[str]:
    """The job's item keys, read from the database itself."""
    store = open_store(database)
    try:
        rows = await store.read(lambda tx: tx.all("SELECT key FROM items WHERE job_id = ?", (job_id,)))
        return [str(r[0]) for r in rows]
    finally:
        store.close()
