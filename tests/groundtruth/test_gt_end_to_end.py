"""The Ground Truth adapter on the real core: a labelwire job labeled by a
(stubbed) Ground Truth labeling job, its labels streamed before it completes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botocore.stub import ANY

from labelwire.adapters.pool import PoolWorkforce
from labelwire.client.raw import Client, text_item
from labelwire.server.dispatch.workforces import JobContext, Workforces
from labelwire.server.transport.app import Running, start_server
from labelwire.v1 import job_pb2, task_pb2
from tests.conftest import ADMIN_KEY
from tests.groundtruth.harness import GroundTruthHarness, classification_label, classifier

JOB = "lw-e2e-1"


@pytest.fixture
async def gt_server(harness: GroundTruthHarness, tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "gt.db"),
        admin_key=ADMIN_KEY,
        workforces=Workforces({"pool": PoolWorkforce(), "groundtruth": harness.workforce}),
        drive_workforces=False,
    )
    try:
        yield running
    finally:
        await running.stop(grace=None)


async def test_ground_truth_answers_stream_as_labels_before_the_labeling_job_ends(
    harness: GroundTruthHarness, gt_server: Running
) -> None:
    from labelwire.client.raw import AdminClient

    target = f"127.0.0.1:{gt_server.port}"
    async with AdminClient(target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("gt-customer")
    lw = Client(target, key)
    job = await lw.create_job(
        "Sentiment",
        classes=["positive", "negative"],
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
        workforce="groundtruth",
        workforce_settings=harness.settings(job_name_prefix="lw-e2e"),
        job=job_pb2.Job(label_attribute_name="sentiment"),
    )
    await lw.add_items(job.name, [text_item(k, f"text of {k}") for k in ("a", "b")])
    await lw.start_job(job.name)
    core = gt_server.core
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(core.reads, job_id, await core.reads.spec_of_job(job_id))
    adapter = harness.workforce

    await adapter.start(ctx)
    harness.expect_create(JOB)
    await adapter.sync(ctx)
    assert [line["labelwire-key"] for line in harness.input_lines(JOB)] == ["a", "b"]

    harness.workers_answer(
        JOB,
        "a",
        [("w1", classifier("positive")), ("w2", classifier("positive")), ("w3", classifier("negative"))],
    )
    harness.queue_describe(JOB, "InProgress", labeled=1, unlabeled=1)
    await adapter.sync(ctx)
    early = [lab async for lab in lw.stream_labels(job.name, snapshot_only=True)]
    assert [(lab.item_key, lab.value.classification.class_name, lab.judgment_count) for lab in early] == [
        ("a", "positive", 3)
    ]
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_RUNNING

    harness.workers_answer(
        JOB,
        "b",
        [("w1", classifier("negative")), ("w2", classifier("negative")), ("w4", classifier("negative"))],
    )
    harness.write_output_manifest(
        JOB,
        {
            "a": classification_label("sentiment", "positive", 0, 0.71, JOB),
            "b": classification_label("sentiment", "negative", 1, 0.94, JOB),
        },
    )
    harness.queue_describe(JOB, "Completed", labeled=2)
    await adapter.sync(ctx)
    labels = [lab async for lab in lw.stream_labels(job.name)]
    assert [(lab.item_key, lab.value.classification.class_name) for lab in labels] == [
        ("a", "positive"),
        ("b", "negative"),
    ]
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED and done.counters.judgments == 6
    workers = {w.display_name for w in await lw.list_workers(job.name)}
    assert workers == {"w1", "w2", "w3", "w4"}
    harness.assert_all_calls_made()
    await lw.close()


async def test_a_job_without_a_name_prefix_names_its_labeling_jobs_after_its_id(
    harness: GroundTruthHarness, gt_server: Running
) -> None:
    from labelwire.client.raw import AdminClient

    target = f"127.0.0.1:{gt_server.port}"
    async with AdminClient(target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("gt-customer")
    lw = Client(target, key)
    job = await lw.create_job(
        "Sentiment",
        classes=["positive", "negative"],
        quiz_size=0,
        hidden_gold_share=0,
        workforce="groundtruth",
        workforce_settings=harness.settings(),
        job=job_pb2.Job(label_attribute_name="sentiment"),
    )
    job_id = int(job.name.split("/")[1])
    await lw.add_items(job.name, [text_item("a", "text of a")])
    await lw.start_job(job.name)
    ctx = JobContext(gt_server.core.reads, job_id, await gt_server.core.reads.spec_of_job(job_id))

    await harness.workforce.start(ctx)
    harness.expect_create(f"lw-{job_id}-1")
    await harness.workforce.sync(ctx)

    harness.assert_all_calls_made()
    assert [line["labelwire-key"] for line in harness.input_lines(f"lw-{job_id}-1")] == ["a"]
    await lw.close()


async def test_a_verification_job_sends_the_model_boxes_to_ground_truths_built_in_verification(
    harness: GroundTruthHarness, gt_server: Running
) -> None:
    from labelwire.client.raw import AdminClient, source_item
    from labelwire.v1 import answer_pb2

    target = f"127.0.0.1:{gt_server.port}"
    async with AdminClient(target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("gt-customer")
    lw = Client(target, key)
    job = await lw.create_job(
        "Check the boxes",
        task_type="verification",
        classes=["car", "person"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        quiz_size=0,
        hidden_gold_share=0,
        workforce="groundtruth",
        workforce_settings=harness.settings(job_name_prefix="verify"),
        job=job_pb2.Job(label_attribute_name="boxes-ok"),
    )
    item = source_item("street-1", f"s3://{harness.bucket}/images/street-1.jpg")
    item.prelabel.CopyFrom(
        answer_pb2.Answer(
            bounding_boxes=answer_pb2.BoundingBoxAnswer(
                boxes=[answer_pb2.BoundingBox(class_name="car", left=10, top=20, width=30, height=40)]
            )
        )
    )
    await lw.add_items(job.name, [item])
    await lw.start_job(job.name)
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(gt_server.core.reads, job_id, await gt_server.core.reads.spec_of_job(job_id))

    await harness.workforce.start(ctx)
    pre = "arn:aws:lambda:us-east-1:432418664414:function:PRE-VerificationBoundingBox"
    harness.expect_create(
        "verify-1",
        LabelAttributeName="boxes-ok",
        HumanTaskConfig={
            "WorkteamArn": ANY,
            "UiConfig": {"UiTemplateS3Uri": f"{harness.input_prefix}/verify-1/template.liquid"},
            "PreHumanTaskLambdaArn": pre,
            "TaskKeywords": ANY,
            "TaskTitle": ANY,
            "TaskDescription": ANY,
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "MaxConcurrentTaskCount": 1000,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": pre.replace("PRE-", "ACS-")
            },
        },
    )
    await harness.workforce.sync(ctx)

    harness.assert_all_calls_made()
    [line] = harness.input_lines("verify-1")
    assert line["source-ref"] == f"s3://{harness.bucket}/images/street-1.jpg"
    assert line["boxes-ok-prelabel"] == {
        "annotations": [{"class_id": 0, "left": 10.0, "top": 20.0, "width": 30.0, "height": 40.0}]
    }
    assert line["boxes-ok-prelabel-metadata"]["class-map"] == {"0": "car"}
    await lw.close()


async def test_items_ground_truth_cannot_take_are_refused_when_added(
    harness: GroundTruthHarness, gt_server: Running
) -> None:
    import grpc

    from labelwire.client.raw import AdminClient, source_item

    target = f"127.0.0.1:{gt_server.port}"
    async with AdminClient(target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("gt-customer")
    lw = Client(target, key)
    job = await lw.create_job(
        "Check the boxes",
        task_type="verification",
        classes=["car", "person"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        quiz_size=0,
        hidden_gold_share=0,
        workforce="groundtruth",
        workforce_settings=harness.settings(),
    )
    model_class = source_item("a", f"s3://{harness.bucket}/images/a.jpg")
    model_class.prelabel.classification.class_name = "car"
    outside_s3 = source_item("b", "https://example.com/b.jpg")
    outside_s3.prelabel.bounding_boxes.boxes.add(class_name="car", left=1, top=1, width=2, height=2)
    fine = source_item("c", f"s3://{harness.bucket}/images/c.jpg")
    fine.prelabel.bounding_boxes.boxes.add(class_name="car", left=1, top=1, width=2, height=2)

    for item, reason in (
        (model_class, "the prelabel to verify must hold bounding boxes"),
        (outside_s3, "Ground Truth reads source-ref objects from S3 only"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await lw.add_items(job.name, [fine, item])
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (err.value.details() or "").startswith(
            "items (message 1)[1]: Ground Truth cannot take this item: "
        )
        assert reason in (err.value.details() or "")
    assert (await lw.get_job(job.name)).counters.total_items == 0
    assert (await lw.add_items(job.name, [fine])).added_count == 1
    await lw.close()


@pytest.mark.parametrize(
    ("script", "status"),
    [
        ([True] * 6 + [False] * 2, task_pb2.WORKER_STATUS_QUALIFIED),
        ([True] * 6 + [False] * 3, task_pb2.WORKER_STATUS_DISQUALIFIED),
    ],
    ids=["exactly-at-the-bar", "just-under-the-bar"],
)
async def test_a_ground_truth_worker_graded_on_gold_is_disqualified_only_under_the_bar(
    harness: GroundTruthHarness, gt_server: Running, script: list[bool], status: int
) -> None:
    """The Ground Truth adapter leaves gating to the core (it never sends gold
    itself); answers it reports on gold items grade the worker with the job's
    bar: 6 of 8 right is exactly 0.75 and counts, 6 of 9 is just under it."""
    from labelwire.adapters.base import ExternalJudgment
    from labelwire.client.raw import AdminClient

    target = f"127.0.0.1:{gt_server.port}"
    async with AdminClient(target, ADMIN_KEY) as admin:
        key = await admin.create_api_key("gt-customer")
    lw = Client(target, key)
    job = await lw.create_job(
        "Sentiment",
        classes=["positive", "negative"],
        judgments_per_item=1,
        quiz_size=0,
        pass_accuracy=0.75,
        hidden_gold_share=0,
        workforce="groundtruth",
        workforce_settings=harness.settings(job_name_prefix="lw-gate"),
    )
    gold = [text_item(f"g{n}", f"gold {n}", gold="positive") for n in range(len(script))]
    await lw.add_items(job.name, [text_item("a", "text of a"), *gold])
    await lw.start_job(job.name)
    core = gt_server.core
    job_id = int(job.name.split("/")[1])
    ctx = JobContext(core.reads, job_id, await core.reads.spec_of_job(job_id))
    await ctx.record_judgments([ExternalJudgment("a", "w1", {"classification": {"class_name": "positive"}})])
    for n, right in enumerate(script):
        answer = "positive" if right else "negative"
        await ctx.record_judgments(
            [ExternalJudgment(f"g{n}", "w1", {"classification": {"class_name": answer}})]
        )
    [worker] = await lw.list_workers(job.name)
    counters = (await lw.get_job(job.name)).counters
    assert worker.status == status
    assert counters.excluded_judgments == (1 if status == task_pb2.WORKER_STATUS_DISQUALIFIED else 0)
    await lw.close()
