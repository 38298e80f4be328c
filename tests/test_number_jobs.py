"""Number jobs through the pool over a real port (issue 13, wanted 5): several workers
type a value, the label is their median with its spread, gold is graded with the job's
tolerance, and values that are not finite, out of bounds or off the step are refused."""

from __future__ import annotations

import grpc
import pytest

from labelwire.client.raw import Client, number, number_config, text_item
from labelwire.v1 import job_pb2
from tests.conftest import Harness
from tests.helpers import drain


async def number_job(
    lw: Client, *, judgments: int = 3, quiz_size: int = 0, tolerance: float = 0.0
) -> job_pb2.Job:
    spec = number_config(min_value=0, max_value=500, step=0.5, unit="cm")
    if tolerance:
        spec.gold_policy.number_tolerance = tolerance
    return await lw.create_job(
        "Lengths",
        classes=[],
        task_type="number",
        judgments_per_item=judgments,
        quiz_size=quiz_size,
        hidden_gold_share=0,
        job=spec,
    )


async def refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code(), caught.value.details() or ""


async def test_a_number_label_is_the_workers_median_with_its_spread(server: Harness) -> None:
    lw = await server.client()
    job = await number_job(lw)
    await lw.add_items(job.name, [text_item("fish", "How long is the fish?")])
    await lw.start_job(job.name)
    values = [31.5, 30.0, 400.0]  # the third worker typed a wild value: the median ignores it
    for n, value in enumerate(values):
        w = server.worker((await lw.create_worker(job.name, f"w{n}"))[1])
        task = await w.next_task()
        await w.submit(task.task.name, number(value))
        await w.close()
    labels = await drain(lw.stream_labels(job.name))
    assert [label.item_key for label in labels] == ["fish"]
    label = labels[0]
    assert label.value.number.value == 31.5
    assert label.value.number.spread == pytest.approx(1.5)
    assert label.confidence == pytest.approx(1 / 3)  # only 31.5 itself is within half a step
    assert label.judgment_count == 3 and label.method == "number_median"
    assert (await lw.get_job(job.name)).task_config.number.unit == "cm"
    await lw.close()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (float("nan"), "must be a finite number"),
        (float("inf"), "must be a finite number"),
        (-1.0, "must be >= 0 (min_value)"),
        (500.5, "must be <= 500 (max_value)"),
        (3.25, "whole number of steps of 0.5"),
    ],
)
async def test_a_hostile_number_is_refused_naming_the_field_and_the_limit(
    server: Harness, value: float, says: str
) -> None:
    lw = await server.client()
    job = await number_job(lw)
    await lw.add_items(job.name, [text_item("fish", "How long?")])
    await lw.start_job(job.name)
    w = server.worker((await lw.create_worker(job.name, "w"))[1])
    task = await w.next_task()
    code, message = await refused(w.submit(task.task.name, number(value)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "answer.number.value" in message and says in message
    assert (await w.next_task()).task.name == task.task.name  # still leased: nothing changed
    assert (await lw.get_job(job.name)).counters.judgments == 0
    await w.close()
    await lw.close()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"min_value": 5, "max_value": 5}, "max_value must be greater than min_value"),
        ({"step": -1}, "step must be >= 0"),
        ({"min_value": float("nan")}, "min_value must be a finite number"),
        ({"unit": "x" * 33}, "unit must be 0 to 32 characters"),
    ],
)
async def test_a_bad_number_config_is_refused(server: Harness, config: dict[str, float], field: str) -> None:
    lw = await server.client()
    spec = number_config()
    for key, value in config.items():
        setattr(spec.task_config.number, key, value)
    code, message = await refused(lw.create_job("Bad", classes=[], task_type="number", job=spec))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and f"job.task_config.number.{field}" in message
    await lw.close()


async def test_number_gold_is_graded_within_the_tolerance(server: Harness) -> None:
    lw = await server.client()
    job = await number_job(lw, judgments=1, quiz_size=2, tolerance=1.0)
    gold = [text_item(f"g{n}", "How long?", gold=number(20.0)) for n in range(2)]
    await lw.add_items(job.name, [*gold, text_item("fish", "How long?")])
    await lw.start_job(job.name)
    near = server.worker((await lw.create_worker(job.name, "near"))[1])
    far = server.worker((await lw.create_worker(job.name, "far"))[1])
    for worker, value in ((near, 21.0), (far, 21.5)):
        for _ in range(2):
            task = await worker.next_task()
            reply = await worker.submit(task.task.name, number(value))
            assert reply.quiz_feedback.correct == (worker is near)
            assert reply.quiz_feedback.expected_answer.number.value == 20.0
    assert (await near.next_task()).HasField("task")
    assert not (await far.next_task()).HasField("task")
    await near.close()
    await far.close()
    await lw.close()


async def test_number_agreement_counts_the_values_that_differ_from_the_label(server: Harness) -> None:
    lw = await server.client()
    job = await number_job(lw)
    await lw.add_items(job.name, [text_item("same", "Fish A"), text_item("split", "Fish B")])
    await lw.start_job(job.name)
    for n in range(3):
        w = server.worker((await lw.create_worker(job.name, f"w{n}"))[1])
        for _ in range(2):
            task = await w.next_task()
            await w.submit(task.task.name, number(10.0 if task.task.text == "Fish A" or n else 12.5))
        await w.close()
    quality = await lw.job_quality(job.name)
    assert quality.agreement.items_measured == 2
    assert list(quality.agreement.dissent_histogram)[:2] == [1, 1]  # one item all agree, one with a dissenter
    await lw.close()
