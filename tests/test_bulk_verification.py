"""Bulk verification as the bulk-QA seed ran it: one task holds up to
`batch_size` items the model gave the same class, answered with one verdict
per item, each recorded on its own item."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import Client, source_item
from labelwire.v1 import answer_pb2, item_pb2, job_pb2, label_pb2, task_pb2
from tests.conftest import Clock, Harness

PRICE = 10_000


def verdicts(*correct: bool) -> answer_pb2.Answer:
    return answer_pb2.Answer(verification=answer_pb2.VerificationAnswer(correct=list(correct)))


def model_item(key: str, cls: str, confidence: float, *, gold: bool | None = None) -> item_pb2.Item:
    item = source_item(key, f"s3://img/{key}.jpg", gold=None if gold is None else verdicts(gold))
    if gold is not None:
        item.gold_use = item_pb2.GOLD_USE_HIDDEN
    item.prelabel.classification.class_name = cls
    item.prelabel_confidence = confidence
    return item


async def verification_job(
    lw: Client,
    items: list[item_pb2.Item],
    *,
    batch_size: int = 3,
    judgments: int = 1,
    hidden: float = 0.0,
    budget: int = 0,
) -> job_pb2.Job:
    spec = job_pb2.Job(display_name="Verify")
    spec.task_config.verification.classes.extend([job_pb2.LabelClass(name=c) for c in ("car", "person")])
    spec.task_config.verification.batch_size = batch_size
    spec.media_type = job_pb2.MEDIA_TYPE_IMAGE
    job = await lw.create_job(
        "Verify",
        classes=[],
        job=spec,
        judgments_per_item=judgments,
        quiz_size=0,
        hidden_gold_share=hidden,
        price_per_judgment_micros=PRICE if budget else 0,
        budget_micros=budget,
    )
    await lw.add_items(job.name, items)
    return await lw.start_job(job.name)


def keys(task: task_pb2.Task) -> list[str]:
    """The item keys a task shows (its batch, or its one item)."""
    refs = [entry.source_ref for entry in task.batch] or [task.source_ref]
    return [ref.rsplit("/", 1)[1].split(".")[0] for ref in refs]


async def test_a_task_holds_items_of_one_class_with_the_models_confidence(server: Harness) -> None:
    lw = await server.client()
    items = [model_item(f"c{n}", "car", 0.81 + n / 100) for n in range(4)]
    items += [model_item(f"p{n}", "person", 0.9) for n in range(2)]
    job = await verification_job(lw, items, batch_size=3)
    _, token = await lw.create_worker(job.name, "a")
    async with server.worker(token) as w:
        first = (await w.next_task()).task
        assert len(first.batch) == 3 and set(keys(first)) <= {"c0", "c1", "c2", "c3"}
        assert {e.prelabel.classification.class_name for e in first.batch} == {"car"}
        assert all(0.8 < e.prelabel_confidence < 0.85 for e in first.batch)
        assert first.source_ref == first.batch[0].source_ref
        assert first.HasField("prelabel_confidence")
        again = (await w.next_task()).task  # the held batch comes back whole
        assert again.name == first.name and keys(again) == keys(first)
        await w.submit(first.name, verdicts(True, False, True))
        second = (await w.next_task()).task
        third_call = await w.submit(
            second.name, verdicts(*[True] * max(len(second.batch), 1)), want_next=True
        )
        rest = third_call.next.task
        assert len(first.batch) + max(len(second.batch), 1) + max(len(rest.batch), 1) == 6
        assert {e.prelabel.classification.class_name for e in second.batch} | {
            e.prelabel.classification.class_name for e in rest.batch
        } <= {"car", "person"}
    job = await lw.get_job(job.name)
    assert job.counters.judgments == 3 + max(len(second.batch), 1)
    await lw.close()


async def test_the_answer_needs_exactly_one_verdict_per_item(server: Harness) -> None:
    lw = await server.client()
    job = await verification_job(
        lw, [model_item(f"c{n}", "car", 0.9) for n in range(3)] + [model_item("p0", "person", 0.9)]
    )
    _, token = await lw.create_worker(job.name, "a")
    async with server.worker(token) as w:
        batch = (await w.next_task()).task
        with pytest.raises(grpc.aio.AioRpcError) as short:
            await w.submit(batch.name, verdicts(True, True))
        await w.submit(batch.name, verdicts(True, True, False))
        await w.submit(batch.name, verdicts(True, True, False))  # a retried call changes nothing
        with pytest.raises(grpc.aio.AioRpcError) as changed:
            await w.submit(batch.name, verdicts(True, True, True))
        single = (await w.next_task()).task
        assert len(single.batch) == 0  # the one person item is a single-item task
        with pytest.raises(grpc.aio.AioRpcError) as five:
            await w.submit(single.name, verdicts(True, True, True, True, True))
        await w.submit(single.name, verdicts(False))
    assert short.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "answer.verification.correct needs one verdict per item of the task: 3, got 2" in (
        short.value.details() or ""
    )
    assert changed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert five.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "1, got 5" in (
        five.value.details() or ""
    )
    assert (await lw.get_job(job.name)).counters.judgments == 4
    await lw.close()


async def test_release_decline_and_expiry_return_every_item_and_its_reservation(
    server: Harness, clock: Clock
) -> None:
    lw = await server.client()
    job = await verification_job(
        lw, [model_item(f"c{n}", "car", 0.9) for n in range(3)], budget=10 * PRICE, batch_size=3
    )
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    _, c = await lw.create_worker(job.name, "c")
    async with server.worker(a) as wa, server.worker(b) as wb, server.worker(c) as wc:
        held = (await wa.next_task()).task
        assert len(held.batch) == 3
        assert (await lw.get_job(job.name)).counters.reserved_micros == 3 * PRICE
        assert not (await wb.next_task()).HasField("task")  # every item is leased
        await wa.release(held.name)
        assert (await lw.get_job(job.name)).counters.reserved_micros == 0
        taken = (await wb.next_task()).task
        assert sorted(keys(taken)) == ["c0", "c1", "c2"]
        await wb.decline(taken.name, "blurry")
        assert (await lw.get_job(job.name)).counters.reserved_micros == 0
        late = (await wc.next_task()).task
        assert len(late.batch) == 3
        clock.advance(200)
        await wc.extend(late.name, 300)
        clock.advance(200)  # past the first limit, within the extension
        await wc.submit(late.name, verdicts(True, True, True))
        assert (await lw.get_job(job.name)).counters.judgments == 3
        assert (await lw.get_job(job.name)).counters.cost_micros == 3 * PRICE
    await lw.close()


async def test_an_expired_batch_goes_back_whole(server: Harness, clock: Clock) -> None:
    lw = await server.client()
    job = await verification_job(lw, [model_item(f"c{n}", "car", 0.9) for n in range(2)], budget=10 * PRICE)
    _, a = await lw.create_worker(job.name, "a")
    _, b = await lw.create_worker(job.name, "b")
    async with server.worker(a) as wa, server.worker(b) as wb:
        held = (await wa.next_task()).task
        clock.advance(301)
        taken = (await wb.next_task()).task
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await wa.submit(held.name, verdicts(True, True))
    assert sorted(keys(taken)) == ["c0", "c1"]
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await lw.get_job(job.name)).counters.reserved_micros == 2 * PRICE
    await lw.close()


async def test_a_budget_reserves_per_item_and_shrinks_the_batch(server: Harness) -> None:
    lw = await server.client()
    job = await verification_job(lw, [model_item(f"c{n}", "car", 0.9) for n in range(5)], budget=2 * PRICE)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as w:
        task = (await w.next_task()).task
        assert len(task.batch) == 2
        await w.submit(task.name, verdicts(True, False))
        assert not (await w.next_task()).HasField("task")
    job = await lw.get_job(job.name)
    assert job.counters.cost_micros == 2 * PRICE and job.counters.reserved_micros == 0
    await lw.close()


async def test_hidden_gold_sits_inside_a_batch_and_grades_its_own_item(server: Harness) -> None:
    lw = await server.client()
    items = [model_item(f"c{n:02}", "car", 0.9) for n in range(30)]
    items.append(model_item("gold", "car", 0.95, gold=False))  # the model is known wrong here
    job = await verification_job(lw, items, batch_size=2, hidden=0.5)
    _, a = await lw.create_worker(job.name, "a")
    gold_batches = []
    async with server.worker(a) as w:
        while (response := await w.next_task()).HasField("task"):
            task = response.task
            if "gold" in keys(task):
                gold_batches.append(keys(task))
            await w.submit(task.name, verdicts(*[key != "gold" for key in keys(task)]))
    [stats] = await lw.list_workers(job.name)  # the owner's view: a worker never sees hidden gold
    assert len(gold_batches) == 1 and len(gold_batches[0]) == 2  # beside a work item of its class
    assert stats.gold_answered == 1 and stats.gold_correct == 1
    assert (await lw.get_job(job.name)).counters.judgments == 31
    await lw.close()


async def test_the_label_stream_carries_each_items_counts_and_verdict(server: Harness) -> None:
    lw = await server.client()
    items = [model_item(f"c{n}", "car", 0.9) for n in range(3)]
    job = await verification_job(lw, items, batch_size=3, judgments=2)
    wanted = {"a": {"c0": True, "c1": True, "c2": False}, "b": {"c0": True, "c1": False, "c2": False}}
    for worker, says in wanted.items():
        _, token = await lw.create_worker(job.name, worker)
        async with server.worker(token) as w:
            task = (await w.next_task()).task
            await w.submit(task.name, verdicts(*[says[key] for key in keys(task)]))
    labels = {label.item_key: label async for label in lw.stream_labels(job.name)}
    verdict = label_pb2.VerificationSummary
    got = {
        key: (v.verification.confirmed, v.verification.disconfirmed, v.verification.verdict)
        for key, v in labels.items()
    }
    assert got == {
        "c0": (2, 0, verdict.VERDICT_CONFIRMED),
        "c1": (1, 1, verdict.VERDICT_SPLIT),
        "c2": (0, 2, verdict.VERDICT_DISCONFIRMED),
    }
    assert labels["c0"].verification.confidence == 1.0 and labels["c1"].verification.confidence == 0.5
    assert list(labels["c0"].value.verification.correct) == [True]
    assert list(labels["c2"].value.verification.correct) == [False]
    await lw.close()


async def test_the_report_gives_the_seeds_table_and_a_threshold_per_class(server: Harness) -> None:
    lw = await server.client()
    # key: (class, model confidence, worker a's verdict, worker b's verdict)
    plan = {f"a{n}": ("car", 0.82, n < 2, n < 2) for n in range(4)}
    plan |= {f"b{n}": ("car", 0.87, True, n < 3) for n in range(4)}  # b3 is a split
    plan |= {f"c{n}": ("car", 0.93, True, True) for n in range(4)}
    plan |= {f"d{n}": ("car", 0.97, True, True) for n in range(4)}
    plan |= {"low": ("car", 0.5, False, False), "p0": ("person", 0.96, True, True)}
    plan |= {"p1": ("person", 0.96, False, False)}
    items = [model_item(key, cls, conf) for key, (cls, conf, _, _) in plan.items()]
    job = await verification_job(lw, items, batch_size=25, judgments=2)
    for index, worker in enumerate(("a", "b")):
        _, token = await lw.create_worker(job.name, worker)
        async with server.worker(token) as w:
            while (response := await w.next_task()).HasField("task"):
                task = response.task
                await w.submit(task.name, verdicts(*[plan[key][2 + index] for key in keys(task)]))

    report = await lw.verification_report(job.name, target_precision=0.6)
    car, person = report.classes
    assert (car.class_name, person.class_name) == ("car", "person")
    table = [
        (b.lower, b.upper, b.counts.total, b.counts.confirmed, b.counts.disconfirmed, b.counts.split)
        for b in car.buckets
    ]
    assert table == [
        (0.80, 0.85, 4, 2, 2, 0),
        (0.85, 0.90, 4, 3, 0, 1),
        (0.90, 0.95, 4, 4, 0, 0),
        (0.95, 1.00, 4, 4, 0, 0),
    ]
    assert [round(b.counts.percent_correct) for b in car.buckets] == [50, 75, 100, 100]
    assert (car.counts.total, car.counts.disconfirmed) == (17, 3)  # the 0.5 item counts only here
    assert (report.total.total, report.total.confirmed) == (19, 14)
    assert car.target_reached and car.recommended_threshold == pytest.approx(0.87)
    assert car.items_above == 12 and car.precision == pytest.approx(11 / 12)
    assert 0.6 <= car.precision_lower < 11 / 12 < car.precision_upper <= 1.0
    assert not person.target_reached  # one right of two tells nothing at 60%

    lenient = await lw.verification_report(
        job.name, split_counts_as_correct=True, bucket_edges=[0.8, 0.9, 1.0]
    )
    assert [round(b.counts.percent_correct) for b in lenient.classes[0].buckets] == [75, 100]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await lw.verification_report(job.name, bucket_edges=[0.9, 0.8])
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "bucket_edges must ascend: bucket_edges[1] is 0.8 after 0.9" in (bad.value.details() or "")
    await lw.close()


async def test_a_disqualified_workers_verdicts_leave_item_by_item(server: Harness) -> None:
    lw = await server.client()
    items = [model_item(f"c{n:02}", "car", 0.9) for n in range(30)]
    items.append(model_item("gold", "car", 0.95, gold=False))
    job = await verification_job(lw, items, batch_size=4, hidden=0.5)
    _, a = await lw.create_worker(job.name, "a")
    async with server.worker(a) as w:  # confirms everything, the known-wrong gold too
        status = None
        while (response := await w.next_task()).HasField("task"):
            task = response.task
            status = (await w.submit(task.name, verdicts(*[True] * len(keys(task))))).status
    assert status == task_pb2.WORKER_STATUS_DISQUALIFIED
    excluded = (await lw.get_job(job.name)).counters.excluded_judgments
    assert excluded >= 9  # every work verdict a gave, each on its own item
    _, b = await lw.create_worker(job.name, "b")
    judged = []
    async with server.worker(b) as w:
        while (response := await w.next_task()).HasField("task"):
            task = response.task
            judged += [key for key in keys(task) if key != "gold"]
            await w.submit(task.name, verdicts(*[key != "gold" for key in keys(task)]))
    assert sorted(judged) == [f"c{n:02}" for n in range(30)]  # a's items, released ones too, came back
    labels = {label.item_key: label async for label in lw.list_labels(job.name)}
    assert len(labels) == 30 and {label.judgment_count for label in labels.values()} == {1}
    job = await lw.get_job(job.name)
    assert job.counters.reserved_micros == 0 and job.counters.excluded_judgments == excluded
    await lw.close()
