"""The Ground Truth adapter's life with one labelwire job: dispatch, collection, failure, restart."""

from __future__ import annotations

import json

from labelwire.adapters.base import WorkItem
from labelwire.adapters.groundtruth.state import AdapterState
from labelwire.adapters.groundtruth.workforce import describe_batches

from .context import RecordingContext
from .harness import GroundTruthHarness, classification_label, classifier

W1, W2, W3 = "private.us-east-1.aaaa1111", "private.us-east-1.bbbb2222", "private.us-east-1.cccc3333"
JOB1 = "lw-j1-1"


def three_votes(*labels: str) -> list[tuple[str, dict[str, object]]]:
    return [(w, classifier(label)) for w, label in zip((W1, W2, W3), labels, strict=False)]


async def started(harness: GroundTruthHarness, ctx: RecordingContext) -> None:
    await harness.workforce.start(ctx)


async def test_answers_are_recorded_while_the_job_runs_and_ground_truth_labels_at_completion(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b", "c")
    await started(harness, ctx)
    harness.expect_create(JOB1)
    first = await harness.workforce.sync(ctx)
    assert first.dispatched == 3
    assert [line["labelwire-key"] for line in harness.input_lines(JOB1)] == ["a", "b", "c"]

    harness.workers_answer(JOB1, "a", three_votes("positive", "positive", "negative"))
    harness.queue_describe(JOB1, "InProgress", labeled=1, unlabeled=2)
    running = await harness.workforce.sync(ctx)
    assert running.recorded == 3 and not running.finished
    assert ctx.answers_of("a") == {
        W1: {"classification": {"class_name": "positive"}},
        W2: {"classification": {"class_name": "positive"}},
        W3: {"classification": {"class_name": "negative"}},
    }
    assert ctx.references == {}

    harness.workers_answer(JOB1, "b", three_votes("negative", "negative", "negative"))
    harness.workers_answer(JOB1, "c", three_votes("positive", "positive", "positive"))
    harness.write_output_manifest(
        JOB1,
        {
            "a": classification_label("sentiment", "positive", 0, 0.71, JOB1),
            "b": classification_label("sentiment", "negative", 1, 0.94, JOB1),
            "c": classification_label("sentiment", "positive", 0, 0.97, JOB1),
        },
    )
    harness.queue_describe(JOB1, "Completed", labeled=3)
    done = await harness.workforce.sync(ctx)

    assert done.recorded == 6 and done.finished
    assert len(ctx.judgments) == 9
    assert {
        k: (r.answer["classification"]["class_name"], r.confidence) for k, r in ctx.references.items()
    } == {
        "a": ("positive", 0.71),
        "b": ("negative", 0.94),
        "c": ("positive", 0.97),
    }
    assert ctx.failed == {}
    harness.assert_all_calls_made()


async def test_judgment_keeps_the_worker_id_time_spent_and_submission_time(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(judgments=1))
    ctx.add_items("a")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", [(W1, classifier("negative"))], submitted="2026-11-25T12:05:07.250Z")
    harness.queue_describe(JOB1, "InProgress")
    await harness.workforce.sync(ctx)

    judgment = ctx.judgments[("a", W1)]
    assert judgment.time_spent_seconds == 10.5
    assert (
        judgment.submitted_at is not None
        and judgment.submitted_at.isoformat() == "2026-11-25T12:05:07.250000+00:00"
    )


async def test_a_large_job_is_split_into_labeling_jobs_of_at_most_max_concurrent_tasks(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(settings=harness.settings(max_concurrent_task_count=2)))
    ctx.add_items("a", "b", "c", "d", "e")
    for n in (1, 2, 3):
        harness.expect_create(f"lw-j1-{n}", HumanTaskConfig=_with_concurrency(2))
    result = await harness.workforce.sync(ctx)

    assert result.dispatched == 5
    keys = [[line["labelwire-key"] for line in harness.input_lines(f"lw-j1-{n}")] for n in (1, 2, 3)]
    assert keys == [["a", "b"], ["c", "d"], ["e"]]
    harness.assert_all_calls_made()


class _with_concurrency:
    """Matches a HumanTaskConfig by its MaxConcurrentTaskCount alone."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other.get("MaxConcurrentTaskCount") == self.count

    def __hash__(self) -> int:
        return self.count


async def test_items_added_to_a_running_job_go_to_a_new_labeling_job(harness: GroundTruthHarness) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)

    ctx.add_items("c")
    harness.queue_describe(JOB1, "InProgress", unlabeled=2)
    harness.expect_create("lw-j1-2")
    result = await harness.workforce.sync(ctx)

    assert result.dispatched == 1
    assert [line["labelwire-key"] for line in harness.input_lines("lw-j1-2")] == ["c"]
    harness.assert_all_calls_made()


async def test_a_part_full_batch_waits_for_more_items_until_batch_wait_seconds(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(settings=harness.settings(batch_wait_seconds=600)))
    ctx.add_items("a")
    waiting = await harness.workforce.sync(ctx)
    assert waiting.dispatched == 1
    assert waiting.next_sync_seconds <= 600

    harness.clock.advance(300)
    ctx.add_items("b")
    await harness.workforce.sync(ctx)

    harness.clock.advance(300)
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    assert [line["labelwire-key"] for line in harness.input_lines(JOB1)] == ["a", "b"]
    harness.assert_all_calls_made()


async def test_cancel_stops_every_running_labeling_job_and_keeps_what_was_read(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(settings=harness.settings(max_concurrent_task_count=2)))
    ctx.add_items("a", "b", "c")
    harness.expect_create(JOB1)
    harness.expect_create("lw-j1-2")
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", three_votes("positive", "negative", "positive"))
    harness.queue_describe(JOB1, "InProgress")
    harness.queue_describe("lw-j1-2", "InProgress")
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "b", three_votes("negative"))

    harness.expect_stop(JOB1)
    harness.expect_stop("lw-j1-2")
    await harness.workforce.cancel(ctx)

    assert set(ctx.answers_of("a")) == {W1, W2, W3}
    assert set(ctx.answers_of("b")) == {W1}
    after = await harness.workforce.sync(ctx)
    assert after.finished
    harness.assert_all_calls_made()


async def test_throttled_calls_are_retried_with_growing_jittered_backoff(harness: GroundTruthHarness) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a")
    harness.queue_error("create_labeling_job", "ThrottlingException")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.queue_error("describe_labeling_job", "ThrottlingException")
    harness.queue_error("describe_labeling_job", "InternalFailure", status=500)
    harness.queue_error("describe_labeling_job", "ServiceUnavailable", status=503)
    harness.queue_describe(JOB1, "InProgress")
    await harness.workforce.sync(ctx)

    assert len(harness.sleeps) == 4
    caps = [0.5, 0.5, 1.0, 2.0]
    assert all(0 <= slept <= cap for slept, cap in zip(harness.sleeps, caps, strict=True))
    harness.assert_all_calls_made()


async def test_a_refused_labeling_job_fails_its_items_with_the_reason(harness: GroundTruthHarness) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b")
    harness.queue_error("create_labeling_job", "ValidationException", message="Role cannot be assumed")
    await harness.workforce.sync(ctx)

    assert set(ctx.failed) == {"a", "b"}
    assert "Role cannot be assumed" in ctx.failed["a"]
    assert harness.sleeps == []


async def test_a_failed_labeling_job_fails_unanswered_items_and_keeps_answers_already_read(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b", "c")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", three_votes("positive", "positive", "positive"))
    harness.workers_answer(JOB1, "b", three_votes("negative"))
    harness.queue_describe(JOB1, "Failed", failure_reason="ClientError: the input manifest is not readable")
    result = await harness.workforce.sync(ctx)

    assert result.finished
    assert set(ctx.failed) == {"b", "c"}
    assert ctx.failed["c"].startswith("ClientError: the input manifest is not readable")
    assert "1 of 3 answers" in ctx.failed["b"]
    assert set(ctx.answers_of("a")) == {W1, W2, W3}
    assert set(ctx.answers_of("b")) == {W1}


async def test_objects_ground_truth_left_unlabeled_fail_with_its_reason(harness: GroundTruthHarness) -> None:
    ctx = RecordingContext(harness.job(judgments=1))
    ctx.add_items("a", "b")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", [(W1, classifier("positive"))])
    expired = {"sentiment-metadata": {"failure-reason": "ClientError: task availability lifetime expired"}}
    harness.write_output_manifest(
        JOB1, {"a": classification_label("sentiment", "positive", 0, 0.0, JOB1), "b": expired}
    )
    harness.queue_describe(JOB1, "Completed", labeled=1, failed=1)
    await harness.workforce.sync(ctx)

    assert list(ctx.failed) == ["b"]
    assert ctx.failed["b"].startswith("ClientError: task availability lifetime expired")
    assert set(ctx.references) == {"a"}


async def test_a_labeling_job_stopped_outside_labelwire_hands_its_unanswered_items_to_a_new_one(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(judgments=1))
    ctx.add_items("a", "b")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", [(W1, classifier("positive"))])
    harness.queue_describe(JOB1, "Stopped")
    harness.expect_create("lw-j1-2")
    await harness.workforce.sync(ctx)

    assert ctx.returned == ["b"]
    assert ctx.failed == {}
    assert [line["labelwire-key"] for line in harness.input_lines("lw-j1-2")] == ["b"]
    harness.assert_all_calls_made()


async def test_a_restarted_adapter_resumes_polling_without_recording_answers_twice(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", three_votes("positive", "positive", "negative"))
    harness.queue_describe(JOB1, "InProgress")
    await harness.workforce.sync(ctx)

    restarted = harness.new_workforce()
    await restarted.start(ctx)
    harness.workers_answer(JOB1, "b", three_votes("negative", "negative", "negative"))
    harness.queue_describe(JOB1, "InProgress")
    result = await restarted.sync(ctx)

    assert result.recorded == 3
    assert [j.item_key for j in ctx.offered] == ["a"] * 3 + ["b"] * 3
    assert len(ctx.judgments) == 6
    harness.assert_all_calls_made()


async def test_a_create_interrupted_by_a_crash_adopts_the_job_it_had_started(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a")
    harness.queue_error("create_labeling_job", "ResourceLimitExceeded")
    await harness.workforce.sync(ctx)
    assert AdapterState.from_json(json.loads(ctx.saved_state)).batches[0].status == "creating"

    harness.queue_error("create_labeling_job", "ResourceInUse")
    harness.queue_describe(JOB1, "InProgress")
    harness.queue_describe(JOB1, "InProgress")
    await harness.new_workforce().sync(ctx)

    assert AdapterState.from_json(json.loads(ctx.saved_state)).batches[0].status == "running"
    assert ctx.failed == {}


async def test_a_job_name_taken_by_someone_else_fails_the_batch_instead_of_adopting_it(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a")
    harness.queue_error("create_labeling_job", "ResourceInUse")
    harness.queue_describe(JOB1, "Completed", manifest_uri="s3://elsewhere/in/other.manifest")
    await harness.workforce.sync(ctx)

    assert "ResourceInUse" in ctx.failed["a"]


async def test_items_ground_truth_cannot_read_fail_without_a_labeling_job(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(media_type="image", settings=harness.settings()))
    ctx.add_work_item(
        WorkItem(
            key="web",
            payload_kind="source_ref",
            payload="https://example.com/a.jpg",
            metadata={},
            judgments_wanted=3,
        )
    )
    ctx.add_items("inline")
    result = await harness.workforce.sync(ctx)

    assert result.dispatched == 0
    assert "from S3 only" in ctx.failed["web"]
    assert "needs a source-ref" in ctx.failed["inline"]
    harness.assert_all_calls_made()


async def test_polling_backs_off_while_nothing_changes_and_resets_on_news(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(settings=harness.settings(poll_seconds=10, max_poll_seconds=40)))
    ctx.add_items("a")
    harness.expect_create(JOB1)
    delays = [(await harness.workforce.sync(ctx)).next_sync_seconds]
    for _ in range(3):
        harness.queue_describe(JOB1, "InProgress")
        delays.append((await harness.workforce.sync(ctx)).next_sync_seconds)
    harness.workers_answer(JOB1, "a", three_votes("positive"))
    harness.queue_describe(JOB1, "InProgress")
    delays.append((await harness.workforce.sync(ctx)).next_sync_seconds)

    assert delays == [10, 10, 20, 40, 10]


async def test_a_completed_job_without_an_output_manifest_keeps_its_answers_and_labels_nothing(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job(judgments=1))
    ctx.add_items("a")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.workers_answer(JOB1, "a", [(W1, classifier("positive"))])
    harness.queue_describe(JOB1, "Completed", labeled=1)
    result = await harness.workforce.sync(ctx)

    assert result.finished
    assert set(ctx.answers_of("a")) == {W1}
    assert ctx.references == {} and ctx.failed == {}


async def test_cancel_hands_back_items_still_waiting_for_their_batch(harness: GroundTruthHarness) -> None:
    ctx = RecordingContext(harness.job(settings=harness.settings(batch_wait_seconds=600)))
    ctx.add_items("a", "b")
    await harness.workforce.sync(ctx)

    await harness.workforce.cancel(ctx)

    assert ctx.returned == ["a", "b"]
    harness.assert_all_calls_made()


async def test_items_wanting_different_numbers_of_answers_go_to_separate_labeling_jobs(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b")
    ctx.add_work_item(WorkItem(key="c", payload_kind="text", payload="more", metadata={}, judgments_wanted=2))
    harness.expect_create(JOB1, HumanTaskConfig=_with_workers(2))
    harness.expect_create("lw-j1-2", HumanTaskConfig=_with_workers(3))
    await harness.workforce.sync(ctx)

    assert [line["labelwire-key"] for line in harness.input_lines(JOB1)] == ["c"]
    assert [line["labelwire-key"] for line in harness.input_lines("lw-j1-2")] == ["a", "b"]
    harness.assert_all_calls_made()


class _with_workers:
    """Matches a HumanTaskConfig by its NumberOfHumanWorkersPerDataObject alone."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other.get("NumberOfHumanWorkersPerDataObject") == self.count

    def __hash__(self) -> int:
        return self.count


async def test_throttling_that_outlasts_the_retries_leaves_the_batch_for_the_next_round(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a")
    for _ in range(8):
        harness.queue_error("create_labeling_job", "ThrottlingException")
    await harness.workforce.sync(ctx)
    assert ctx.failed == {}

    harness.expect_create(JOB1)
    harness.queue_describe(JOB1, "InProgress")
    await harness.workforce.sync(ctx)

    assert AdapterState.from_json(json.loads(ctx.saved_state)).batches[0].status == "running"
    harness.assert_all_calls_made()


async def test_the_saved_state_summarises_each_labeling_job_with_ground_truths_counters(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b")
    harness.expect_create(JOB1)
    await harness.workforce.sync(ctx)
    harness.queue_describe(JOB1, "InProgress", labeled=1, unlabeled=1)
    await harness.workforce.sync(ctx)

    [summary] = describe_batches(json.loads(ctx.saved_state))
    assert summary["name"] == JOB1 and summary["gt_status"] == "InProgress" and summary["objects"] == 2
    assert summary["label_counters"]["TotalLabeled"] == 1 and summary["label_counters"]["Unlabeled"] == 1


async def test_items_claimed_before_a_crash_but_in_no_manifest_are_handed_back(
    harness: GroundTruthHarness,
) -> None:
    ctx = RecordingContext(harness.job())
    ctx.add_items("a", "b")
    await ctx.claim_items(10)

    await harness.new_workforce().start(ctx)

    assert sorted(ctx.returned) == ["a", "b"]
    assert ctx.unclaimed == ["a", "b"]
