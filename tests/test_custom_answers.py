"""Custom tasks: answers, gold and pre-labels are checked against the job's JSON Schema."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from labelwire.client.raw import Client, text_item
from labelwire.v1 import answer_pb2, job_pb2
from tests.conftest import Harness

RATING = {
    "type": "object",
    "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["rating"],
    "additionalProperties": False,
}


def custom(value: dict[str, Any]) -> answer_pb2.Answer:
    answer = answer_pb2.Answer()
    answer.custom.update(value)
    return answer


async def custom_job(lw: Client, schema: dict[str, Any], *, judgments: int = 1) -> job_pb2.Job:
    spec = job_pb2.Job(display_name="Rate the reply")
    json_format.ParseDict({"answer_schema": schema}, spec.task_config.custom)
    return await lw.create_job(
        "Rate the reply", classes=[], judgments_per_item=judgments, quiz_size=0, hidden_gold_share=0, job=spec
    )


async def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return err.value.code(), err.value.details() or ""


async def test_an_answer_that_breaks_the_schema_is_refused_and_the_task_stays_leased(server: Harness) -> None:
    lw = await server.client()
    job = await custom_job(lw, RATING)
    await lw.add_items(job.name, [text_item("r1", "Thanks, that fixed it!")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        task = (await worker.next_task()).task
        code, message = await status_of(
            worker.submit(task.name, custom({"rating": "not-a-number", "junk": True}))
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert message == "answer.custom.rating: 'not-a-number' is not of type 'integer'"
        code, message = await status_of(worker.submit(task.name, custom({"rating": 4, "junk": True})))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "'junk' was unexpected" in message
        assert (await worker.stats()).judgments == 0

        await worker.submit(task.name, custom({"rating": 4}))
    labels = [label async for label in lw.stream_labels(job.name, snapshot_only=True)]
    assert [json_format.MessageToDict(label.value.custom) for label in labels] == [{"rating": 4}]
    await lw.close()


async def test_a_whole_number_keeps_its_integer_type_through_the_struct(server: Harness) -> None:
    """Struct numbers are doubles; a draft-4 schema's `integer` refuses 3.0 but must take the 3 sent."""
    lw = await server.client()
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", **RATING}
    job = await custom_job(lw, schema)
    await lw.add_items(job.name, [text_item("r1", "ok")])
    await lw.start_job(job.name)
    _, token = await lw.create_worker(job.name, "w")
    async with server.worker(token) as worker:
        task = (await worker.next_task()).task
        code, message = await status_of(worker.submit(task.name, custom({"rating": 2.5})))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert message == "answer.custom.rating: 2.5 is not of type 'integer'"
        await worker.submit(task.name, custom({"rating": 3}))
        assert (await worker.stats()).judgments == 1
    await lw.close()


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "intgr"}, "type: 'intgr' is not valid under any of the given schemas"),
        (
            {"properties": {"rating": {"minimum": "one"}}},
            "properties.rating.minimum: 'one' is not of type 'number'",
        ),
        (
            {"$schema": "http://json-schema.org/draft-04/schema#", "exclusiveMinimum": 3},
            "exclusiveMinimum: 3 is not of type 'boolean'",
        ),
        ({"$ref": "https://example.com/rating.json"}, "points outside the schema"),
    ],
)
async def test_a_schema_that_is_not_json_schema_is_refused_at_create_job(
    server: Harness, schema: dict[str, Any], reason: str
) -> None:
    lw = await server.client()
    code, message = await status_of(custom_job(lw, schema))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("job.task_config.custom.answer_schema is not a valid JSON Schema: ")
    assert reason in message
    assert [j.name async for j in lw.list_jobs()] == []
    await lw.close()


async def test_gold_and_prelabels_are_checked_against_the_schema_too(server: Harness) -> None:
    lw = await server.client()
    job = await custom_job(lw, RATING)
    code, message = await status_of(
        lw.add_items(job.name, [text_item("ok", "fine"), text_item("g1", "meh", gold=custom({"rating": 9}))])
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "items (message 1)[1].gold_answer.custom.rating: 9 is greater than the maximum of 5" in message
    item = text_item("p1", "meh")
    item.prelabel.CopyFrom(custom({"score": 2}))
    code, message = await status_of(lw.add_items(job.name, [item]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("items (message 1)[0].prelabel.custom: Additional properties are not allowed")
    assert (await lw.get_job(job.name)).counters.total_items == 0
    await lw.close()
