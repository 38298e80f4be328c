"""The worker-outlier report of a box job (issue 13, wanted 5): a worker whose boxes never
pair with the consolidated ones is flagged as drifting, the others are not."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import source_item
from labelwire.v1 import answer_pb2, job_pb2
from tests.conftest import Harness
from tests.helpers import running_job


def boxes(left: float) -> answer_pb2.Answer:
    answer = answer_pb2.Answer(bounding_boxes=answer_pb2.BoundingBoxAnswer())
    answer.bounding_boxes.boxes.add(class_name="car", left=left, top=10, width=20, height=20)
    return answer


async def test_a_drifting_box_worker_is_flagged(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "Boxes",
        classes=["car", "bike"],
        task_type="bounding_box",
        judgments_per_item=3,
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        quiz_size=0,
        hidden_gold_share=0,
    )
    await lw.add_items(job.name, [source_item(f"img{n}", f"s3://bucket/{n}.jpg") for n in range(30)])
    await lw.start_job(job.name)
    names = [f"w{n}" for n in range(10)]
    workers = [server.worker((await lw.create_worker(job.name, name))[1]) for name in names]
    busy = True
    while busy:  # one task each per round, so every worker judges about as many items
        busy = False
        for n, w in enumerate(workers):
            t = await w.next_task()
            if t.HasField("task"):
                busy = True
                await w.submit(t.task.name, boxes(60.0 if n == 0 else 10.0 + n % 2))
    report = await lw.worker_outliers(job.name)
    assert report.items_checked == 30
    by_name = {r.worker: r for r in report.workers}
    assert len(by_name) == 10
    drifter = by_name[f"{job.name}/workers/{min(int(r.worker.rsplit('/', 1)[1]) for r in report.workers)}"]
    assert drifter.drifting and drifter.outlier_rate == 1.0 and drifter.flagged == drifter.checked > 0
    assert drifter.shrunk_rate < drifter.outlier_rate  # shrunk towards the pool's
    others = [r for r in report.workers if r.worker != drifter.worker]
    assert not any(r.drifting or r.flagged for r in others)
    for w in workers:
        await w.close()
    await lw.close()


async def test_a_classification_job_is_refused_by_name(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.worker_outliers(job.name)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "bounding_box" in (caught.value.details() or "")
    await lw.close()
