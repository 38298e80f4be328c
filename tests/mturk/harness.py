"""An MTurk stand-in for tests: a real boto3 mturk client under botocore's Stubber.

moto has no MTurk backend, so the test queues what MTurk answers; Stubber
checks every request the adapter makes against the 2017-01-17 service model
(and every queued response against its output shape). The core is played by
MTurkContext, the Ground Truth tests' RecordingContext plus the two things a
gated, growing MTurk job needs: gold items with answers, and items whose
wanted judgments move as the core's judgment policy would move them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import boto3
from botocore.stub import ANY, Stubber

from labelwire.adapters.base import GoldItem, JobView, LabelClassView, WorkItem
from labelwire.adapters.mturk import MTurkWorkforce
from labelwire.adapters.mturk.settings import SANDBOX_URL, MTurkSettings
from tests.groundtruth.context import RecordingContext
from tests.groundtruth.harness import DUMMY_ENV, FakeClock

ANSWERS_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"
)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HIT_TYPE = "3HITTYPE0000000000000000000000"


def make_job(
    task_type: str = "classification",
    *,
    classes: Sequence[str] = ("cat", "dog"),
    settings: Mapping[str, Any] | None = None,
    judgments: int = 3,
    max_judgments: int = 5,
    media_type: str = "text",
    task_config: Mapping[str, Any] | None = None,
    instructions: Mapping[str, Any] | None = None,
) -> JobView:
    base: dict[str, Any] = {"reward": "0.05", "endpoint": "sandbox"}
    base.update(settings or {})
    return JobView(
        name="jobs/7",
        display_name="Animals",
        task_type=task_type,
        classes=tuple(LabelClassView(c) for c in classes),
        media_type=media_type,
        instructions=instructions if instructions is not None else {"short_instructions": "Pick the animal"},
        task_config=task_config or {},
        judgments_per_item=judgments,
        max_judgments_per_item=max_judgments,
        task_time_limit_seconds=600,
        task_lifetime_seconds=86400,
        price_per_judgment_micros=0,
        label_attribute_name="animal",
        settings=base,
    )


@dataclass
class MTurkContext(RecordingContext):
    """RecordingContext with gold, per-item judgment targets and labels the core made final."""

    gold: list[GoldItem] = field(default_factory=list)
    targets: dict[str, int] = field(default_factory=dict)
    final: set[str] = field(default_factory=set)

    async def claimed_items(self) -> list[WorkItem]:
        out = []
        for key in self.claimed:
            if key in self.failed or key in self.final:
                continue
            item = self.items[key]
            done = sum(1 for (k, _), j in self.judgments.items() if k == key)
            wanted = self.targets.get(key, self.job.judgments_per_item) - done
            if wanted <= 0:
                continue
            out.append(
                WorkItem(item.key, item.payload_kind, item.payload, item.metadata, wanted, item.prelabel)
            )
        return out

    async def gold_items(self, limit: int) -> list[GoldItem]:
        return self.gold[:limit]


class StubbedMTurk:
    """A real mturk client under Stubber, plus builders of full-shape MTurk responses."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "mturk",
            region_name="us-east-1",
            endpoint_url=SANDBOX_URL,
            aws_access_key_id=DUMMY_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        self.stub = Stubber(self.client)
        self.stub.activate()

    def factory(self, sqs: Any = None) -> Any:
        def make(service: str, settings: MTurkSettings) -> Any:
            return self.client if service == "mturk" else sqs

        return make

    def close(self) -> None:
        self.stub.deactivate()

    def expect(
        self, operation: str, response: Mapping[str, Any], params: Mapping[str, Any] | None = None
    ) -> None:
        self.stub.add_response(operation, dict(response), dict(params) if params is not None else None)

    def fail(self, operation: str, code: str, message: str, status: int = 400) -> None:
        self.stub.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )

    def create_hit(
        self, hit_id: str, params: Mapping[str, Any] | None = None, max_assignments: int = 3
    ) -> None:
        self.expect("create_hit", {"HIT": hit(hit_id, max_assignments)}, params)

    def assignments(
        self,
        hit_id: str,
        assignments: Sequence[Mapping[str, Any]],
        token: str | None = None,
        after: str | None = None,
    ) -> None:
        params: dict[str, Any] = {
            "HITId": hit_id,
            "MaxResults": 100,
            "AssignmentStatuses": ["Submitted", "Approved", "Rejected"],
        }
        if after:
            params["NextToken"] = after
        response: dict[str, Any] = {"Assignments": list(assignments), "NumResults": len(assignments)}
        if token:
            response["NextToken"] = token
        self.expect("list_assignments_for_hit", response, params)

    def approve(self, assignment_id: str) -> None:
        self.expect("approve_assignment", {}, {"AssignmentId": assignment_id})

    def reject(self, assignment_id: str, feedback: Any = ANY) -> None:
        self.expect("reject_assignment", {}, {"AssignmentId": assignment_id, "RequesterFeedback": feedback})

    def assert_done(self) -> None:
        self.stub.assert_no_pending_responses()


def hit(hit_id: str, max_assignments: int = 3, lifetime: timedelta = timedelta(days=1)) -> dict[str, Any]:
    return {
        "HITId": hit_id,
        "HITTypeId": HIT_TYPE,
        "HITGroupId": "3GROUP000000000000000000000000",
        "CreationTime": T0,
        "Title": "Animals",
        "Description": "Pick the animal",
        "HITStatus": "Assignable",
        "MaxAssignments": max_assignments,
        "Reward": "0.05",
        "AutoApprovalDelayInSeconds": 259200,
        "Expiration": T0 + lifetime,
        "AssignmentDurationInSeconds": 600,
        "NumberOfAssignmentsPending": 0,
        "NumberOfAssignmentsAvailable": max_assignments,
        "NumberOfAssignmentsCompleted": 0,
    }


def assignment(
    assignment_id: str,
    worker_id: str,
    hit_id: str,
    answer_xml: str,
    status: str = "Submitted",
    submitted: datetime = T0 + timedelta(minutes=5),
) -> dict[str, Any]:
    return {
        "AssignmentId": assignment_id,
        "WorkerId": worker_id,
        "HITId": hit_id,
        "AssignmentStatus": status,
        "AutoApprovalTime": submitted + timedelta(days=3),
        "AcceptTime": submitted - timedelta(seconds=42),
        "SubmitTime": submitted,
        "Deadline": submitted + timedelta(minutes=10),
        "Answer": answer_xml,
    }


def crowd_answer(fields: Mapping[str, Any]) -> str:
    """What a <crowd-form> submits: one taskAnswers answer holding a JSON array of one object."""
    return (
        f'<?xml version="1.0" encoding="ASCII"?><QuestionFormAnswers xmlns="{ANSWERS_NS}">'
        f"<Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier>"
        f"<FreeText>{escape(json.dumps([dict(fields)]))}</FreeText></Answer></QuestionFormAnswers>"
    )


def picked(label: str) -> str:
    return crowd_answer({"category": {"label": label}})


class Sleeps:
    """An injectable sleep that never waits and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def workforce(
    mturk: StubbedMTurk, clock: FakeClock, sleeps: Sleeps | None = None, sqs: Any = None
) -> MTurkWorkforce:
    return MTurkWorkforce(clients=mturk.factory(sqs), sleep=sleeps or Sleeps(), clock=clock)


def clock_at(moment: datetime = T0) -> FakeClock:
    return FakeClock(moment.timestamp())
