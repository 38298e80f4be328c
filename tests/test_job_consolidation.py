"""Jobs that weigh their workers: skill-weighted labels, the job-level pass,
and dynamic judgments."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import grpc
import numpy as np
import pytest

from labelwire.client.raw import Client, classification, source_item, text_item
from labelwire.server.files import png
from labelwire.v1 import answer_pb2, job_pb2, label_pb2
from tests.conftest import Harness
from tests.helpers import CLASSES, drain, truth

SWAP = {"pos": "neg", "neg": "pos", "neutral": "neutral"}


async def answer_all(server: Harness, token: str, rule: str, seed: int) -> None:
    """Each worker draws from its own seeded generator: sharing one between
    concurrent workers made each one's answers depend on how their calls interleaved."""
    rng = random.Random(seed)
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            right = truth(t.task.text)
            if rule == "good":
                answer = right
            elif rule == "swapper":
                answer = SWAP[right]
            else:
                answer = right if rng.random() < 0.6 else rng.choice(CLASSES)
            await w.submit(t.task.name, classification(answer))


async def run_dawid_skene_job(server: Harness, lw: Client) -> job_pb2.Job:
    job = await lw.create_job(
        "DS",
        classes=CLASSES,
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    items = [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(60)]
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    rules = ("good", "swapper", "noisy")
    workers = [(await lw.create_worker(job.name, rule))[1] for rule in rules]
    await asyncio.gather(
        *(
            answer_all(server, t, r, seed)
            for seed, (t, r) in enumerate(zip(workers, rules, strict=True), start=5)
        )
    )
    return job


async def test_dawid_skene_pass_revises_labels_using_a_class_swapping_worker(server: Harness) -> None:
    lw = await server.client()
    job = await run_dawid_skene_job(server, lw)
    await server.running.core.maintain_once()
    events = await drain(lw.stream_labels(job.name))
    latest = {lab.item_key: lab for lab in events}
    assert len(latest) == 60
    right = sum(lab.value.classification.class_name == CLASSES[int(k[1:]) % 3] for k, lab in latest.items())
    assert right == 60
    assert any(lab.method == "dawid_skene" and lab.revision >= 2 for lab in latest.values())
    done = await lw.get_job(job.name)
    assert done.state == job_pb2.JOB_STATE_COMPLETED
    await lw.close()


async def test_a_weighing_job_completes_only_after_its_final_pass(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "W",
        classes=CLASSES,
        judgments_per_item=1,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_ONE_COIN,
    )
    await lw.add_items(job.name, [text_item("a", "truth:pos")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    await answer_all(server, token, "good", seed=1)
    before = (await lw.get_job(job.name)).state
    await server.running.core.maintain_once()
    after = (await lw.get_job(job.name)).state
    assert (before, after) == (job_pb2.JOB_STATE_RUNNING, job_pb2.JOB_STATE_COMPLETED)
    await lw.close()


async def test_dynamic_judgments_stop_early_when_workers_agree(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "D",
        classes=CLASSES,
        judgments_per_item=2,
        max_judgments_per_item=5,
        target_confidence=0.9,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_WEIGHTED_MAJORITY,
    )
    await lw.add_items(job.name, [text_item("easy", "truth:pos"), text_item("hard", "truth:neg")])
    await lw.start_job(job.name)
    for n in range(6):
        _, token = await lw.create_worker(job.name, f"w{n}")
        async with server.worker(token) as w:
            while (t := await w.next_task()).HasField("task"):
                answer = truth(t.task.text) if t.task.text == "truth:pos" else CLASSES[n % 3]
                await w.submit(t.task.name, classification(answer))
    await server.running.core.maintain_once()
    latest = {lab.item_key: lab for lab in await drain(lw.stream_labels(job.name))}
    assert latest["easy"].judgment_count == 2
    assert latest["hard"].judgment_count == 5
    await lw.close()


async def test_multi_label_pass_uses_a_worker_who_inverts_one_class(server: Harness) -> None:
    from labelwire.client.raw import multi_label

    truths = [sorted({"a", "b", "c"} - {"abc"[n % 3]}) if n % 2 else ["abc"[n % 3]] for n in range(40)]
    lw = await server.client()
    job = await lw.create_job(
        "ML",
        classes=["a", "b", "c"],
        task_type="multi_label",
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
        consolidation_method=job_pb2.CONSOLIDATION_METHOD_DAWID_SKENE,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"{n}") for n in range(40)])
    await lw.start_job(job.name)
    rng = random.Random(3)

    def answer(rule: str, truth: list[str]) -> list[str]:
        if rule == "good":
            return truth
        if rule == "inverts_c":
            return sorted({*truth} ^ {"c"})
        return [c for c in "abc" if (c in truth) != (rng.random() < 0.2)]

    for rule in ("good", "inverts_c", "noisy"):
        _, token = await lw.create_worker(job.name, rule)
        async with server.worker(token) as w:
            while (t := await w.next_task()).HasField("task"):
                await w.submit(t.task.name, multi_label(answer(rule, truths[int(t.task.text)])))
    voted = {lab.item_key: lab for lab in await drain(lw.stream_labels(job.name, snapshot_only=True))}
    await server.running.core.maintain_once()
    latest = {lab.item_key: lab for lab in await drain(lw.stream_labels(job.name))}

    def right(labels: dict[str, Any]) -> int:
        return sum(
            sorted(lab.value.multi_label.class_names) == truths[int(k[1:])] for k, lab in labels.items()
        )

    assert len(latest) == 40 and right(latest) > right(voted)
    assert {lab.method for lab in latest.values()} == {"dawid_skene"}
    assert (await lw.get_job(job.name)).state == job_pb2.JOB_STATE_COMPLETED
    await lw.close()


def mask_answer(mask: Any) -> answer_pb2.Answer:
    data = png.encode_grey(np.asarray(mask, dtype=np.uint8))
    return answer_pb2.Answer(segmentation=answer_pb2.SegmentationAnswer(mask_png=data))


def square(value: int = 1) -> Any:
    """An 8x8 class mask: a 4x4 square of `value` on background."""
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[2:6, 2:6] = value
    return mask


async def label_masks(server: Harness, lw: Client, masks: list[Any]) -> label_pb2.Label:
    """One image segmented by one worker per mask; its label."""
    job = await lw.create_job(
        "Segment",
        task_type="segmentation",
        classes=["car", "road"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=len(masks),
        quiz_size=0,
        hidden_gold_share=0,
    )
    await lw.add_items(job.name, [source_item("street", "s3://images/street.png")])
    await lw.start_job(job.name)
    for n, mask in enumerate(masks):
        _, token = await lw.create_worker(job.name, f"w{n}")
        async with server.worker(token) as w:
            task = await w.next_task()
            await w.submit(task.task.name, mask_answer(mask))
    [label] = [lab async for lab in lw.stream_labels(job.name, snapshot_only=True)]
    return label


def decoded(label: label_pb2.Label) -> list[list[int]]:
    return png.decode_rgba(label.value.segmentation.mask_png)[:, :, 0].tolist()


async def test_masks_that_differ_by_one_pixel_are_voted_per_pixel(server: Harness) -> None:
    lw = await server.client()
    stray = square()
    stray[6, 6] = 1

    label = await label_masks(server, lw, [square(), stray, square()])

    assert decoded(label) == square().tolist()
    # 16 painted pixels all three agree on, and one where two of three say background.
    assert label.confidence == pytest.approx((16 + 2 / 3) / 17)
    assert not label.tie and label.method == "pixel_vote" and label.judgment_count == 3
    await lw.close()


async def test_a_two_to_one_disagreement_on_a_region_shows_in_the_confidence(server: Harness) -> None:
    lw = await server.client()
    half = square()
    half[2:4, 2:6] = 2

    whole = await label_masks(server, lw, [square(), square(), square(2)])
    part = await label_masks(server, lw, [square(), half, square()])

    assert decoded(whole) == square().tolist() and decoded(part) == square().tolist()
    assert whole.confidence == pytest.approx(2 / 3)
    assert part.confidence == pytest.approx((8 * 2 / 3 + 8) / 16)
    await lw.close()


async def test_a_mask_that_is_not_a_class_mask_is_refused(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "Segment",
        task_type="segmentation",
        classes=["car", "road"],
        media_type=job_pb2.MEDIA_TYPE_IMAGE,
        judgments_per_item=1,
        quiz_size=0,
        hidden_gold_share=0,
    )
    await lw.add_items(job.name, [source_item("street", "s3://images/street.png")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        task = await w.next_task()
        bad = answer_pb2.Answer(segmentation=answer_pb2.SegmentationAnswer(mask_png=b"GIF89a"))
        for answer, reason in (
            (bad, "answer.segmentation.mask_png is not a usable PNG"),
            (mask_answer(square(3)), "answer.segmentation.mask_png has pixel value 3"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await w.submit(task.task.name, answer)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert reason in (err.value.details() or "")
        await w.submit(task.task.name, mask_answer(square(2)))
    [label] = [lab async for lab in lw.stream_labels(job.name, snapshot_only=True)]
    assert decoded(label) == square(2).tolist() and label.confidence == 1.0
    await lw.close()
