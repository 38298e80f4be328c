"""What a worker learns and says beyond its answers: the explanation of an
entry-quiz question after answering it (never of hidden gold), comments on
its tasks for the job's owner, and segmentation gold graded by overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from labelwire.client.raw import Client, classification, source_item, text_item
from labelwire.server.files import png
from labelwire.v1 import answer_pb2, item_pb2, job_pb2, job_service_pb2, task_pb2
from tests.conftest import Harness, client_folder
from tests.helpers import CLASSES, truth


async def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), err.value.details() or ""


def explained(
    key: str, text: str, gold: str, why: str, use: int = item_pb2.GOLD_USE_UNSPECIFIED
) -> item_pb2.Item:
    item = text_item(key, text, gold=gold, gold_use=use)
    item.gold_explanation = why
    return item


async def test_a_quiz_answer_shows_the_questions_explanation(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("Quiz", classes=CLASSES, judgments_per_item=1, quiz_size=2, pass_accuracy=0.5)
    await lw.add_items(
        job.name,
        [
            text_item("w0", "truth:pos"),
            explained(
                "q0", "truth:neg", "neg", "The review says it broke on day one.", item_pb2.GOLD_USE_QUIZ
            ),
            text_item("q1", "truth:pos", gold="pos", gold_use=item_pb2.GOLD_USE_QUIZ),
        ],
    )
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "learner")
    said: dict[str, tuple[bool, str]] = {}
    async with server.worker(token) as w:
        for _ in range(2):
            task = (await w.next_task()).task
            assert task.phase == task_pb2.TASK_PHASE_QUIZ
            out = await w.submit(task.name, classification("pos"))
            said[task.text] = (out.quiz_feedback.correct, out.quiz_feedback.explanation)
    assert said == {
        "truth:neg": (False, "The review says it broke on day one."),
        "truth:pos": (True, ""),
    }
    await lw.close()


async def test_hidden_gold_explanations_never_reach_the_worker(server: Harness) -> None:
    secret = "explained-9c41"
    lw = await server.client()
    job = await lw.create_job(
        "Hidden", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0.5
    )
    items = [text_item(f"w{n}", f"work:{CLASSES[n % 3]}") for n in range(10)]
    items += [explained(f"g{n}", f"plain {n}", CLASSES[n % 3], f"{secret} {n}") for n in range(10)]
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    received: list[bytes] = []
    gold_tasks = 0
    async with server.worker(token) as w:
        for _ in range(40):
            t = await w.next_task()
            received.append(t.SerializeToString())
            if not t.HasField("task"):
                break
            gold_tasks += t.task.text.startswith("plain")
            out = await w.submit(t.task.name, classification("neg"), want_next=True)
            received.append(out.SerializeToString())
            assert not out.HasField("quiz_feedback")
    assert gold_tasks >= 1
    assert [r for r in received if secret.encode() in r] == []
    await lw.close()


async def test_an_explanation_needs_a_gold_answer_and_a_limit(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES)
    lonely = text_item("a", "text")
    lonely.gold_explanation = "why"
    code, message = await status_of(lw.add_items(job.name, [lonely]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "gold_explanation is set but" in message and "gold_answer is not" in message
    code, message = await status_of(lw.add_items(job.name, [explained("b", "text", "pos", "x" * 4001)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "gold_explanation must be at most 4000 characters, got 4001" in message
    assert (await lw.get_job(job.name)).counters.total_items + (
        await lw.get_job(job.name)
    ).counters.gold_items == 0
    await lw.close()


async def test_a_manifest_column_gives_gold_its_explanation(files_server: Harness, files_root: Path) -> None:
    lw = await files_server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=1, pass_accuracy=0.0)
    folder = client_folder(files_root, lw)
    (folder / "in.csv").write_text(
        "id,source,gold,why\n1,truth:neg,neg,It says refund.\n2,truth:pos,,ignored\n"
    )
    imported = await lw.jobs.ImportManifest(
        job_service_pb2.ImportManifestRequest(
            job=job.name, uri="in.csv", key_field="id", gold_field="gold", gold_explanation_field="why"
        ),
        metadata=lw.metadata,
    )
    assert imported.gold_count == 1
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with files_server.worker(token) as w:
        task = (await w.next_task()).task
        out = await w.submit(task.name, classification("pos"))
        work = (await w.next_task()).task
    assert (out.quiz_feedback.correct, out.quiz_feedback.explanation) == (False, "It says refund.")
    # The column is the manifest's, like the gold column: no item keeps it as metadata.
    assert work.text == "truth:pos" and "why" not in work.metadata
    await lw.close()


async def test_a_workers_comment_reaches_the_owner(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(3)])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "Ada")
    _, other = await lw.create_worker(job.name, "Bo")
    async with server.worker(token) as w, server.worker(other) as o:
        first = (await w.next_task()).task
        await w.submit(first.name, classification(truth(first.text)))
        # After answering: a worker may still write about the task it was given.
        kept = await w.comment(first.name, "  The text was cut off.  ")
        second = (await w.next_task()).task
        await w.comment(second.name, "Is sarcasm negative?")
        code, message = await status_of(o.comment(second.name, "not mine"))
        assert code == grpc.StatusCode.NOT_FOUND
        code, message = await status_of(w.comment(second.name, "x" * 2001))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "text must be at most 2000 characters, got 2001" in message
        code, message = await status_of(w.comment(second.name, "   "))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "text is required" in message
    assert kept.text == "The text was cut off." and kept.worker_display_name == "Ada"
    comments = await lw.list_task_comments(job.name)
    assert [(c.text, c.task, c.worker_display_name) for c in comments] == [
        ("Is sarcasm negative?", second.name, "Ada"),
        ("The text was cut off.", first.name, "Ada"),
    ]
    assert comments[1].item_key == f"i{CLASSES.index(truth(first.text))}"
    stranger = await server.client("stranger")
    code, _ = await status_of(stranger.list_task_comments(job.name))
    assert code == grpc.StatusCode.NOT_FOUND
    await lw.close()
    await stranger.close()


async def test_comments_page_newest_first(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0)
    await lw.add_items(job.name, [text_item("i0", "truth:pos")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        task = (await w.next_task()).task
        for n in range(5):
            await w.comment(task.name, f"note {n}")
    first = await lw.jobs.ListTaskComments(
        job_service_pb2.ListTaskCommentsRequest(job=job.name, page_size=3), metadata=lw.metadata
    )
    rest = await lw.jobs.ListTaskComments(
        job_service_pb2.ListTaskCommentsRequest(job=job.name, page_size=3, page_token=first.next_page_token),
        metadata=lw.metadata,
    )
    assert [c.text for c in first.comments] == ["note 4", "note 3", "note 2"]
    assert [c.text for c in rest.comments] == ["note 1", "note 0"] and rest.next_page_token == ""
    async with server.worker(token) as w:
        for n in range(5, 20):
            await w.comment(task.name, f"note {n}")
        code, message = await status_of(w.comment(task.name, "one too many"))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "at most 20 comments" in message
    assert len(await lw.list_task_comments(job.name)) == 20
    await lw.close()


def mask_answer(mask: Any) -> answer_pb2.Answer:
    data = png.encode_grey(np.asarray(mask, dtype=np.uint8))
    return answer_pb2.Answer(segmentation=answer_pb2.SegmentationAnswer(mask_png=data))


def squares() -> Any:
    """A 20x20 mask: a 10x10 square of class 1 and a 4x4 square of class 2."""
    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[0:10, 0:10] = 1
    mask[14:18, 14:18] = 2
    return mask


async def segmentation_quiz(lw: Client, min_iou: float | None) -> str:
    spec = job_pb2.Job()
    if min_iou is not None:
        spec.gold_policy.min_segmentation_iou = min_iou
    job = await lw.create_job(
        "Segment",
        task_type="segmentation",
        classes=["car", "road"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=1,
        pass_accuracy=0.0,
        job=spec,
    )
    gold = source_item(
        "g", "s3://images/gold.png", gold=mask_answer(squares()), gold_use=item_pb2.GOLD_USE_QUIZ
    )
    await lw.add_items(job.name, [source_item("w", "s3://images/w.png"), gold])
    await lw.start_job(job.name)
    return job.name


async def quiz_verdict(server: Harness, lw: Client, job: str, mask: Any) -> bool:
    _, token = await lw.create_worker(job, "painter")
    async with server.worker(token) as w:
        task = (await w.next_task()).task
        out = await w.submit(task.name, mask_answer(mask))
    return out.quiz_feedback.correct


@pytest.mark.parametrize(
    ("min_iou", "paint", "right"),
    [
        # One column of the big square missed: IoU 0.9 there and 1.0 on the small one.
        (None, "trimmed", True),
        (0.99, "trimmed", False),
        # The small square left out: mean IoU (1.0 + 0.0) / 2, however right the big one is.
        (None, "no small square", False),
        (0.5, "no small square", True),
        (None, "exact", True),
        # Classes swapped: no overlap on either class.
        (None, "swapped", False),
    ],
)
async def test_segmentation_gold_is_graded_by_mean_iou(
    server: Harness, min_iou: float | None, paint: str, right: bool
) -> None:
    lw = await server.client()
    job = await segmentation_quiz(lw, min_iou)
    mask = squares()
    if paint == "trimmed":
        mask[0:10, 9] = 0
    elif paint == "no small square":
        mask[14:18, 14:18] = 0
    elif paint == "swapped":
        mask = np.where(mask == 1, 2, np.where(mask == 2, 1, 0))
    assert await quiz_verdict(server, lw, job, mask) is right
    await lw.close()


async def test_the_iou_threshold_is_checked_and_kept(server: Harness) -> None:
    lw = await server.client()
    code, message = await status_of(lw.create_job("S", classes=CLASSES, job=_iou(1.5)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "gold_policy.min_segmentation_iou" in message
    job = await lw.create_job("S", classes=CLASSES, job=_iou(0.6))
    assert job.gold_policy.min_segmentation_iou == pytest.approx(0.6)
    default = await lw.create_job("S", classes=CLASSES)
    assert default.gold_policy.min_segmentation_iou == pytest.approx(0.8)
    await lw.close()


def _iou(value: float) -> job_pb2.Job:
    spec = job_pb2.Job()
    spec.gold_policy.min_segmentation_iou = value
    return spec
