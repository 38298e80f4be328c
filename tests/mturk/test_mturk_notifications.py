"""MTurk notification bodies read from a real (moto) SQS queue, and the adapter polling notified HITs first."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from labelwire.adapters.mturk import SqsNotifications, hits_to_poll, parse_body
from labelwire.adapters.mturk.notifications import fresh_events
from labelwire.adapters.mturk.requests import NOTIFIED_EVENTS
from tests.groundtruth.harness import moto_server

from .harness import HIT_TYPE, MTurkContext, StubbedMTurk, assignment, clock_at, make_job, picked, workforce

HIT1 = "3HIT00000000000000001"
HIT2 = "3HIT00000000000000002"


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    with moto_server() as url:
        yield boto3.client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"mturk-{uuid.uuid4().hex[:12]}")["QueueUrl"])


def body(*events: dict[str, str]) -> str:
    return json.dumps(
        {
            "Events": list(events),
            "EventDocId": uuid.uuid4().hex,
            "SourceAccount": "047991105548",
            "CustomerId": "AUYKYIHQXG6XR",
            "EventDocVersion": "2014-08-15",
        }
    )


def submitted(hit_id: str, assignment_id: str, at: str = "2026-06-01T12:05:00Z") -> dict[str, str]:
    return {
        "EventType": "AssignmentSubmitted",
        "EventTimestamp": at,
        "HITId": hit_id,
        "AssignmentId": assignment_id,
        "HITTypeId": HIT_TYPE,
    }


def test_events_from_the_queue_are_deduplicated_and_name_the_hits_to_poll(sqs: Any, queue_url: str) -> None:
    first = body(submitted(HIT2, "A1"), submitted(HIT1, "A2"))
    sqs.send_message(QueueUrl=queue_url, MessageBody=first)
    sqs.send_message(QueueUrl=queue_url, MessageBody=first)  # at-least-once: delivered twice
    sns = json.dumps(
        {
            "Type": "Notification",
            "Message": body(submitted(HIT1, "A3"), {"EventType": "HITCreated", "HITId": "X"}),
        }
    )
    sqs.send_message(QueueUrl=queue_url, MessageBody=sns)
    sqs.send_message(QueueUrl=queue_url, MessageBody="not json")
    notifications = SqsNotifications(sqs, queue_url)
    messages = notifications.receive()
    events = [event for _, text in messages for event in parse_body(text)]
    new = fresh_events(events, seen=[])
    assert len(messages) == 4 and len(events) == 6 and len(new) == 4
    assert hits_to_poll(new) == [HIT2, HIT1]
    assert fresh_events(events, seen=[e.key for e in new]) == []
    notifications.delete([receipt for receipt, _ in messages])
    assert notifications.receive() == []


def test_same_assignment_at_another_time_is_a_new_event() -> None:
    again = parse_body(
        body(submitted(HIT1, "A1", "2026-06-01T12:05:00Z"), submitted(HIT1, "A1", "2026-06-01T13:00:00Z"))
    )
    assert len(fresh_events(again, seen=[])) == 2


async def test_adapter_subscribes_its_hit_type_and_polls_only_notified_hits_between_sweeps(
    mturk: StubbedMTurk, sqs: Any, queue_url: str
) -> None:
    ctx = MTurkContext(make_job(settings={"notification_queue_url": queue_url, "sweep_seconds": 600}))
    ctx.add_items("i1", "i2")
    clock = clock_at()
    wf = workforce(mturk, clock, sqs=sqs)
    mturk.create_hit(HIT1)
    mturk.expect(
        "update_notification_settings",
        {},
        {
            "HITTypeId": HIT_TYPE,
            "Notification": {
                "Destination": queue_url,
                "Transport": "SQS",
                "Version": "2014-08-15",
                "EventTypes": list(NOTIFIED_EVENTS),
            },
            "Active": True,
        },
    )
    mturk.create_hit(HIT2)
    await wf.sync(ctx)  # first round: a full sweep of no HITs, two HITs made
    mturk.assert_done()

    sqs.send_message(QueueUrl=queue_url, MessageBody=body(submitted(HIT2, "A1")))
    clock.advance(60)
    mturk.assignments(HIT2, [assignment("A1", "AW1", HIT2, picked("dog"))])  # HIT1 is not polled
    mturk.approve("A1")
    await wf.sync(ctx)
    mturk.assert_done()
    assert ("i2", "AW1") in ctx.judgments

    sqs.send_message(QueueUrl=queue_url, MessageBody=body(submitted(HIT2, "A1")))  # a late duplicate
    clock.advance(60)
    await wf.sync(ctx)  # nothing new: no MTurk call at all
    mturk.assert_done()

    clock.advance(600)  # the sweep is due: every open HIT is polled
    mturk.assignments(HIT1, [])
    mturk.assignments(HIT2, [assignment("A1", "AW1", HIT2, picked("dog"), status="Approved")])
    await wf.sync(ctx)
    mturk.assert_done()
    assert SqsNotifications(sqs, queue_url).receive() == []
