"""QualityService: agreement, worker records, cost, and pre-label calibration."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import classification, text_item
from tests.conftest import Harness
from tests.helpers import CLASSES, truth


async def test_agreement_counts_dissent_and_worker_records(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job(
        "J",
        classes=CLASSES,
        judgments_per_item=3,
        quiz_size=0,
        hidden_gold_share=0,
        price_per_judgment_micros=20_000,
    )
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(4)])
    await lw.start_job(job.name)
    for name, wrong_on in (("a", set()), ("b", set()), ("c", {"truth:pos"})):
        _, token = await lw.create_worker(job.name, name)
        async with server.worker(token) as w:
            while (t := await w.next_task()).HasField("task"):
                answer = truth(t.task.text)
                if t.task.text in wrong_on:
                    answer = "neg"
                await w.submit(t.task.name, classification(answer), time_spent_seconds=4.0)
    report = await lw.job_quality(job.name)
    assert report.agreement.items_measured == 4
    assert list(report.agreement.dissent_histogram)[:2] == [2, 2]
    assert 0 < report.agreement.fleiss_kappa < 1 and 0 < report.agreement.krippendorff_alpha < 1
    assert report.cost_micros == 12 * 20_000 and report.cost_per_label_micros == 3 * 20_000
    by_name = {w.stats.display_name: w for w in report.workers}
    assert by_name["a"].agreement_with_label == 1.0 and by_name["c"].agreement_with_label == 0.5
    assert by_name["a"].median_time_seconds == 4.0
    await lw.close()


async def test_calibration_finds_where_the_model_can_be_trusted(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    items = []
    for n in range(20):
        confident = n < 10
        human = "pos" if confident or n % 2 else "neg"
        item = text_item(f"i{n}", f"truth:{human}")
        item.prelabel.CopyFrom(classification("pos"))
        item.prelabel_confidence = 0.95 if confident else 0.35
        items.append(item)
    await lw.add_items(job.name, items)
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as w:
        while (t := await w.next_task()).HasField("task"):
            await w.submit(t.task.name, classification(truth(t.task.text)))
    calibration = await lw.calibration(job.name, buckets=10, target_precision=0.9)
    [pos] = calibration.classes
    assert pos.class_name == "pos" and pos.items == 20 and abs(pos.accept_threshold - 0.9) < 1e-9
    assert [(round(b.lower, 1), b.count, b.accuracy) for b in pos.buckets] == [(0.3, 10, 0.5), (0.9, 10, 1.0)]
    await lw.close()


async def test_decline_reasons_are_kept_and_shown_to_the_owner(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    await lw.add_items(job.name, [text_item(f"i{n}", f"truth:{CLASSES[n % 3]}") for n in range(3)])
    await lw.start_job(job.name)
    declines = {"a": ["  image does not load ", "no class fits"], "b": ["image does not load", ""], "c": []}
    for name, reasons in declines.items():
        _, token = await lw.create_worker(job.name, name)
        async with server.worker(token) as w:
            for reason in reasons:
                await w.decline((await w.next_task()).task.name, reason)
            if name == "c":
                task = (await w.next_task()).task
                await w.release(task.name)

    report = await lw.job_quality(job.name)

    assert report.declined_tasks == 4
    assert [(r.reason, r.count) for r in report.decline_reasons] == [
        ("image does not load", 2),
        ("no class fits", 1),
    ]
    assert {w.stats.display_name: w.declined for w in report.workers} == {"a": 2, "b": 2, "c": 0}
    await lw.close()


async def test_a_decline_reason_over_the_limit_changes_nothing(server: Harness) -> None:
    lw = await server.client()
    job = await lw.create_job("J", classes=CLASSES, judgments_per_item=1, quiz_size=0, hidden_gold_share=0)
    await lw.add_items(job.name, [text_item("i0", "truth:pos")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "a")
    async with server.worker(token) as w:
        task = (await w.next_task()).task
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await w.decline(task.name, "x" * 1001)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details() == "reason must be at most 1000 characters, got 1001"
        assert (await w.next_task()).task.name == task.name
    assert (await lw.job_quality(job.name)).declined_tasks == 0
    await lw.close()
