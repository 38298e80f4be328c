"""Bulk verification on Ground Truth: on our custom task, one data object (one
manifest line) carries up to batch_size items the model gave the same class,
and each worker's answer to it is split into one judgment per item."""

from __future__ import annotations

from labelwire.adapters.base import WorkItem
from labelwire.adapters.groundtruth.lambdas import pre

from .context import RecordingContext
from .harness import GroundTruthHarness

W1, W2 = "private.us-east-1.aaaa1111", "private.us-east-1.bbbb2222"
JOB1 = "lw-j1-1"
PRE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-pre"
POST_ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelwire-gt-post"
CORRECT = {"verification": {"correct": [True]}}
WRONG = {"verification": {"correct": [False]}}


def verify_context(harness: GroundTruthHarness, batch_size: int) -> RecordingContext:
    settings = harness.settings(ui="custom", pre_lambda_arn=PRE_ARN, post_lambda_arn=POST_ARN)
    job = harness.job(
        task_type="verification",
        classes=("car", "person"),
        judgments=2,
        settings=settings,
        task_config={"batch_size": batch_size},
    )
    return RecordingContext(job)


def model_said(ctx: RecordingContext, cls: str, *keys: str) -> None:
    for key in keys:
        ctx.add_work_item(
            WorkItem(key, "text", f"photo {key}", {}, 2, {"classification": {"class_name": cls}})
        )


def verdicts(*marks: bool | None) -> dict[str, object]:
    """A worker's answer to a batch page: per item the radio button picked (None: skipped)."""
    fields: dict[str, object] = {}
    for index, mark in enumerate(marks):
        if mark is not None:
            choice = "correct" if mark else "incorrect"
            fields[f"item-{index}-{choice}"] = {choice: True}
    return fields


async def test_one_data_object_carries_a_batch_of_one_class_and_its_page_shows_each_item(
    harness: GroundTruthHarness,
) -> None:
    ctx = verify_context(harness, 3)
    model_said(ctx, "car", "c1", "c2")
    model_said(ctx, "person", "p1")
    model_said(ctx, "car", "c3")
    harness.expect_create(JOB1)
    result = await harness.workforce.sync(ctx)
    harness.assert_all_calls_made()
    assert result.dispatched == 4
    batch_line, single_line = harness.input_lines(JOB1)
    assert batch_line["labelwire-keys"] == ["c1", "c2", "c3"] and "labelwire-key" not in batch_line
    assert single_line["labelwire-keys"] == ["p1"]  # a batch of one, so the batch page shows it
    task = pre.handler({"dataObject": batch_line}, None)["taskInput"]
    assert task["sourceRef"] == ["photo c1", "photo c2", "photo c3"]
    assert task["proposed"] == ["car", "car", "car"]
    template = harness.read_text(f"{harness.input_prefix}/{JOB1}/template.liquid")
    assert "{% for ref in task.input.sourceRef %}" in template
    assert 'name="item-{{ forloop.index0 }}-incorrect"' in template


async def test_each_verdict_in_a_batch_answer_is_a_judgment_on_its_item_once(
    harness: GroundTruthHarness,
) -> None:
    ctx = verify_context(harness, 3)
    model_said(ctx, "car", "c1", "c2", "c3")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "c1", [(W1, verdicts(True, False, True)), (W2, verdicts(True, None, False))])
    harness.queue_describe(JOB1, "InProgress", labeled=1)
    running = await harness.workforce.sync(ctx)
    assert running.recorded == 5
    assert ctx.answers_of("c1") == {W1: CORRECT, W2: CORRECT}
    assert ctx.answers_of("c2") == {W1: WRONG}
    assert ctx.answers_of("c3") == {W1: CORRECT, W2: WRONG}
    assert ctx.judgments[("c1", W1)].time_spent_seconds == 3.5  # a third of the 10.5 s spent
    harness.queue_describe(JOB1, "InProgress", labeled=1)
    again = await harness.workforce.sync(ctx)  # the same file is not read twice
    assert again.recorded == 0 and len(ctx.offered) == 6
    harness.assert_all_calls_made()


async def test_a_batch_whose_labeling_job_fails_unanswered_fails_every_item_of_it(
    harness: GroundTruthHarness,
) -> None:
    ctx = verify_context(harness, 2)
    model_said(ctx, "car", "c1", "c2")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.queue_describe(JOB1, "Failed", failure_reason="workteam disbanded")
    await harness.workforce.sync(ctx)
    harness.assert_all_calls_made()
    assert set(ctx.failed) == {"c1", "c2"} and "workteam disbanded" in ctx.failed["c1"]


async def test_builtin_bounding_box_verification_keeps_one_image_per_object(
    harness: GroundTruthHarness,
) -> None:
    from labelwire.adapters.groundtruth.rounds import Round

    job = harness.job(
        task_type="verification", media_type="image", classes=("car",), task_config={"batch_size": 5}
    )
    ctx = RecordingContext(job)
    assert Round(harness.workforce, ctx).batch_size == 1
