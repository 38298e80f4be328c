"""Who may call what, and bad input that changes nothing."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from labelwire.client.raw import Client, classification, text_item
from labelwire.v1 import item_pb2, job_pb2, job_service_pb2
from tests.conftest import Harness, client_folder
from tests.helpers import CLASSES, running_job


async def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), err.value.details() or ""


async def test_a_client_cannot_see_another_clients_job(server: Harness) -> None:
    a, b = await server.client("a"), await server.client("b")
    job = await a.create_job("J", classes=CLASSES)
    code, _ = await status_of(b.get_job(job.name))
    assert code == grpc.StatusCode.NOT_FOUND
    assert [j.name async for j in b.list_jobs()] == []
    await a.close()
    await b.close()


async def test_missing_or_wrong_tokens_are_unauthenticated(server: Harness) -> None:
    for token in ("", "lwc_1_nope", "garbage"):
        async with Client(server.target, token) as lw:
            code, _ = await status_of(lw.get_job("jobs/1"))
            assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_worker_token_cannot_call_job_service(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "w")
    async with Client(server.target, token) as as_client:
        code, _ = await status_of(as_client.get_job(job.name))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    await lw.close()


async def test_a_worker_cannot_submit_for_another_workers_task(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=2)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        t = await wa.next_task()
        code, message = await status_of(wb.submit(t.task.name, classification("pos")))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "not leased to you" in message
    await lw.close()


async def test_a_worker_of_one_job_cannot_touch_another_job(server: Harness) -> None:
    lw = await server.client()
    one = await running_job(lw, items=1)
    two = await running_job(lw, items=1)
    _, a = await lw.create_worker(one.name, "a")
    _, b = await lw.create_worker(two.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        t = await wa.next_task()
        code, _ = await status_of(wb.submit(t.task.name, classification("pos")))
    assert code == grpc.StatusCode.NOT_FOUND
    await lw.close()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda j: setattr(j, "display_name", ""), "job.display_name"),
        (
            lambda j: setattr(j.judgment_policy, "judgments_per_item", 12),
            "judgments_per_item must be between 1 and 9",
        ),
        (lambda j: j.task_config.classification.classes.add(name="pos"), "is not unique"),
        (lambda j: setattr(j, "label_attribute_name", "x-metadata"), "label_attribute_name"),
        (lambda j: setattr(j.gold_policy, "pass_accuracy", 1.5), "pass_accuracy must be between 0 and 1"),
        (lambda j: j.task_config.ClearField("config"), "task_config is required"),
        (lambda j: setattr(j.workforce, "adapter", "nope"), "adapter 'nope' is not installed"),
    ],
)
async def test_bad_jobs_are_refused_naming_the_field(server: Harness, change: object, field: str) -> None:
    lw = await server.client()
    job = job_pb2.Job(display_name="J", judgment_policy=job_pb2.JudgmentPolicy(judgments_per_item=3))
    job.task_config.classification.classes.extend([job_pb2.LabelClass(name=n) for n in CLASSES])
    change(job)  # type: ignore[operator]
    code, message = await status_of(
        lw.jobs.CreateJob(job_service_pb2.CreateJobRequest(job=job), metadata=lw.metadata)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and field in message
    assert [j async for j in lw.list_jobs()] == []
    await lw.close()


async def test_too_many_classes_is_refused(server: Harness) -> None:
    lw = await server.client()
    code, message = await status_of(lw.create_job("J", classes=[f"c{i}" for i in range(10_001)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "10000" in message
    await lw.close()


async def test_a_bad_item_anywhere_in_the_stream_adds_nothing(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    good = [text_item(f"k{i}", "fine") for i in range(2500)]
    huge = text_item("big", "x" * ((1 << 20) + 1))
    code, message = await status_of(lw.add_items(job.name, [*good, huge], per_message=1000))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "1048576" in message and "message 3" in message
    assert (await lw.get_job(job.name)).counters.total_items == 0
    bad_gold = text_item("g", "x", gold="not-a-class")
    code, message = await status_of(lw.add_items(job.name, [bad_gold]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "gold_answer" in message
    assert (await lw.get_job(job.name)).counters.gold_items == 0
    await lw.close()


async def test_an_item_without_payload_or_key_is_refused(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    code, message = await status_of(lw.add_items(job.name, [item_pb2.Item(key="k")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "payload" in message
    code, message = await status_of(lw.add_items(job.name, [text_item("", "x")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "key" in message
    await lw.close()


async def test_a_manifest_with_a_bad_line_adds_nothing(files_server: Harness, files_root: Path) -> None:
    lw = await files_server.client()
    job = await lw.create_job("J", classes=CLASSES)
    path = client_folder(files_root, lw) / "bad.manifest"
    path.write_text('{"source": "a"}\n{"source": "b"}\nnot json\n')
    code, message = await status_of(lw.import_manifest(job.name, "bad.manifest"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "line 3" in message
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()


async def test_answers_of_the_wrong_type_or_class_are_refused(server: Harness) -> None:
    lw = await server.client()
    job = await running_job(lw, items=1)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        t = await w.next_task()
        code, message = await status_of(w.submit(t.task.name, classification("blue")))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "blue" in message
        from labelwire.client.raw import multi_label

        code, message = await status_of(w.submit(t.task.name, multi_label(["pos"])))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "classification answer" in message
        stats = await w.stats()
    assert stats.judgments == 0
    await lw.close()


async def test_start_refuses_a_quiz_without_enough_gold(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, quiz_size=5)
    await lw.add_items(job.name, [text_item("g", "x", gold="pos")])
    code, message = await status_of(lw.start_job(job.name))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "quiz_size is 5" in message and "1 gold" in message
    await lw.close()


async def test_a_verification_item_carries_the_label_under_review(server: Harness) -> None:
    from labelwire.client.raw import source_item
    from labelwire.v1 import answer_pb2

    lw = await server.client()
    job = await lw.create_job(
        "Verify", task_type="verification", classes=["car", "person"], media_type=job_pb2.MEDIA_TYPE_IMAGE
    )
    boxes = source_item("b", "s3://img/b.jpg")
    boxes.prelabel.bounding_boxes.boxes.add(class_name="car", left=1, top=2, width=3, height=4)
    model_class = source_item("m", "s3://img/m.jpg")
    model_class.prelabel.classification.class_name = "person"
    verdict = source_item("v", "s3://img/v.jpg")
    verdict.prelabel.CopyFrom(answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=[True])))

    code, message = await status_of(lw.add_items(job.name, [source_item("none", "s3://img/n.jpg")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message.endswith(
        "prelabel is required: it is the label to verify"
    )
    code, message = await status_of(lw.add_items(job.name, [verdict]))
    assert (
        code == grpc.StatusCode.INVALID_ARGUMENT
        and "is the label to verify: one of classification" in message
    )
    boxes.prelabel.bounding_boxes.boxes[0].class_name = "bus"
    code, message = await status_of(lw.add_items(job.name, [boxes]))
    assert (
        code == grpc.StatusCode.INVALID_ARGUMENT
        and "boxes[0].class_name is not one of the job's classes" in message
    )
    boxes.prelabel.bounding_boxes.boxes[0].class_name = "car"
    added = await lw.add_items(job.name, [boxes, model_class])
    assert added.added_count == 2
    await lw.close()
