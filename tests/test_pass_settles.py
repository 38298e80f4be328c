"""A job-level pass labels an open item that waits for an extra judgment when the job's
model, learned from all of the job's work, already puts the item over its target
(issue 13: the judgment it waited for would be bought for nothing); an item with a lease
out is left to the answer it waits for."""

from __future__ import annotations

from labelwire.client.raw import Client, WorkerClient, classification, text_item
from labelwire.v1 import job_pb2, label_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, truth

ITEMS = 30


async def _labels(lw: Client, name: str) -> list[label_pb2.Label]:
    return [lab async for lab in lw.list_labels(name)]


async def _job(server: Harness) -> tuple[Client, str, str, str]:
    """A Dawid-Skene job with a target whose every item was answered once, rightly, by w0,
    and every item but the last a second time, rightly, by w1: with no record a worker
    counts as 0.7 accurate, so one answer (0.7) is under the target and two agreeing
    ones (0.92) reach it. Background maintenance is stopped: the test runs the pass."""
    for task in server.running.core._tasks:
        task.cancel()
    lw = await server.client()
    job = await lw.create_job(
        "Settled by the pass",
        classes=CLASSES,
        judgments_per_item=1,
        max_judgments_per_item=3,
        target_confidence=0.9,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(ITEMS)])
    await lw.start_job(job.name)
    tokens = [(await lw.create_worker(job.name, f"w{n}"))[1] for n in range(2)]
    async with server.worker(tokens[0]) as w:
        while (t := await w.next_task()).HasField("task"):
            await w.submit(t.task.name, classification(truth(t.task.text)))
    async with server.worker(tokens[1]) as w:
        for _ in range(ITEMS - 1):
            t = await w.next_task()
            await w.submit(t.task.name, classification(truth(t.task.text)))
    return lw, job.name, tokens[0], tokens[1]


async def test_a_pass_labels_a_waiting_item_its_model_settles(server: Harness) -> None:
    lw, name, _, _ = await _job(server)
    before = {lab.item_key for lab in await _labels(lw, name)}
    assert len(before) == ITEMS - 1  # the last item waits for a second judgment
    await server.running.core.maintain_once()
    labels = {lab.item_key: lab for lab in await _labels(lw, name)}
    assert len(labels) == ITEMS
    (waiting,) = set(labels) - before
    settled = labels[waiting]
    assert settled.judgment_count == 1
    assert settled.confidence >= 0.9
    assert settled.value.classification.class_name == CLASSES[int(waiting[1:]) % 3]
    assert (await lw.get_job(name)).state == job_pb2.JOB_STATE_COMPLETED
    await lw.close()


async def test_a_pass_leaves_a_waiting_item_with_a_lease_out_to_its_answer(server: Harness) -> None:
    lw, name, _, second = await _job(server)
    async with WorkerClient(server.target, second) as w:
        t = await w.next_task()
        assert t.HasField("task")
        await server.running.core.maintain_once()
        assert len(await _labels(lw, name)) == ITEMS - 1
        await w.submit(t.task.name, classification(truth(t.task.text)))
    labels = {lab.item_key: lab for lab in await _labels(lw, name)}
    assert len(labels) == ITEMS
    assert max(lab.judgment_count for lab in labels.values()) == 2
    await lw.close()
