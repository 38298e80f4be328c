"""The worker-outlier report (issue 13, wanted 5) of box, number and key-point jobs: a worker
whose annotations never agree with the item's label is flagged as drifting, the others are
not, and the items of widest spread come first."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from labelwire.client.raw import Client, keypoints, number, number_config, source_item, text_item
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


async def rounds(
    server: Harness, lw: Client, job: str, n_workers: int, answer: Callable[[int], answer_pb2.Answer]
) -> None:
    """Each worker answers one task per round until none is left; worker n answers `answer(n)`."""
    workers = [server.worker((await lw.create_worker(job, f"w{n}"))[1]) for n in range(n_workers)]
    busy = True
    while busy:
        busy = False
        for n, w in enumerate(workers):
            t = await w.next_task()
            if t.HasField("task"):
                busy = True
                await w.submit(t.task.name, answer(n))
    for w in workers:
        await w.close()


def worker_number(name: str) -> int:
    return int(name.rsplit("/", 1)[1])


async def test_a_number_worker_typing_wild_values_drifts_and_the_hard_item_comes_first(
    server: Harness,
) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "Counts", classes=[], task_type="number", judgments_per_item=3, quiz_size=0, hidden_gold_share=0,
        job=number_config(step=1),
    )  # fmt: skip
    await lw.add_items(job.name, [text_item(f"i{n}", "How many?") for n in range(30)])
    await lw.start_job(job.name)
    await rounds(server, lw, job.name, 10, lambda n: number(90.0 if n == 0 else 10.0 + n % 2))
    report = await lw.worker_outliers(job.name, item_limit=3)
    assert report.items_checked == 30
    first = min(worker_number(r.worker) for r in report.workers)
    by_number = {worker_number(r.worker): r for r in report.workers}
    drifter = by_number[first]
    assert drifter.drifting and drifter.flagged == drifter.checked > 0
    assert not any(
        r.flagged for n, r in by_number.items() if n != first
    )  # 10 against 11 is within a step's spread
    assert len(report.items) == 3
    assert report.items[0].outliers == 1 and report.items[0].spread >= report.items[-1].spread
    assert report.items[0].annotations == 3
    await lw.close()


async def test_a_key_point_worker_who_sees_points_nobody_else_does_drifts(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "Faces", classes=["nose", "tail"], task_type="keypoints", judgments_per_item=3,
        media_type=job_pb2.MEDIA_TYPE_IMAGE, quiz_size=0, hidden_gold_share=0,
    )  # fmt: skip
    await lw.add_items(job.name, [source_item(f"img{n}", f"s3://bucket/{n}.jpg") for n in range(30)])
    await lw.start_job(job.name)
    await rounds(
        server, lw, job.name, 10,
        lambda n: keypoints({"nose": (100 + n, 100), "tail": (300, 300) if n == 0 else None}),
    )  # fmt: skip
    report = await lw.worker_outliers(job.name)
    first = min(worker_number(r.worker) for r in report.workers)
    by_number = {worker_number(r.worker): r for r in report.workers}
    assert by_number[first].drifting and by_number[first].outlier_rate == 1.0
    assert not any(r.flagged for n, r in by_number.items() if n != first)
    assert len(report.items) == 30 and all(i.spread > 0 for i in report.items)  # noses a pixel or more apart
    await lw.close()


async def test_an_item_limit_past_the_bound_is_refused_by_name(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Counts", classes=[], task_type="number", job=number_config())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await lw.worker_outliers(job.name, item_limit=1001)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "item_limit must be between 0 and 1000, got 1001" in (caught.value.details() or "")
    await lw.close()
