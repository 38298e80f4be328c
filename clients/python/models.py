"""What the SDK hands back: small frozen dataclasses with the fields a user
reads, each keeping the protobuf message it came from in `.proto` for the rest.

Answers become plain Python: a class name (`str`) for classification, a list
of class names for multi-label, a dict (the message as JSON) for every other
task type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from labelwire.client.accounts import ApiKey, Team, Worker, WorkerAccount, WorkerJob
from labelwire.client.values import _enum_name, answer_value
from labelwire.v1 import (
    job_pb2,
    job_service_pb2,
    judgment_pb2,
    label_pb2,
    task_pb2,
)

__all__ = [
    "Added",
    "ApiKey",
    "Comment",
    "Counters",
    "Decline",
    "Item",
    "Job",
    "Judgment",
    "Label",
    "Route",
    "Task",
    "Team",
    "Worker",
    "WorkerAccount",
    "WorkerJob",
    "answer_value",
]

FINAL_STATES = frozenset({"completed", "cancelled", "failed"})


@dataclass(frozen=True)
class Counters:
    """Where a job's items are, and what it has cost so far (micro-units of currency)."""

    total_items: int
    labeled_items: int
    unlabeled_items: int
    in_progress_items: int
    failed_items: int
    gold_items: int
    judgments: int
    cost_micros: int

    @classmethod
    def from_proto(cls, message: job_pb2.JobCounters) -> Counters:
        return cls(
            total_items=message.total_items,
            labeled_items=message.labeled_items,
            unlabeled_items=message.unlabeled_items,
            in_progress_items=message.in_progress_items,
            failed_items=message.failed_items,
            gold_items=message.gold_items,
            judgments=message.judgments,
            cost_micros=message.cost_micros,
        )


@dataclass(frozen=True)
class Job:
    """A labeling job. `state` is one of draft, running, paused, completed, cancelled, failed."""

    name: str
    display_name: str
    state: str
    classes: tuple[str, ...]
    judgments: int
    counters: Counters
    proto: job_pb2.Job = field(repr=False, compare=False)
    # The version of the instructions workers are shown now (from 1).
    instructions_version: int = 1
    # Why the server chose the state: "pilot complete" after a pilot.
    state_reason: str = ""

    @property
    def done(self) -> bool:
        """True once the job can change no more (completed, cancelled or failed)."""
        return self.state in FINAL_STATES

    @classmethod
    def from_proto(cls, message: job_pb2.Job) -> Job:
        config = message.task_config
        kind = config.WhichOneof("config")
        listed: Any = getattr(config, kind) if kind else None
        classes = listed.entity_types if kind == "spans" else getattr(listed, "classes", ())
        return cls(
            name=message.name,
            display_name=message.display_name,
            state=_enum_name("JOB_STATE_", job_pb2.JobState.Name(message.state)),
            classes=tuple(c.name for c in classes),
            judgments=message.judgment_policy.judgments_per_item,
            counters=Counters.from_proto(message.counters),
            proto=message,
            instructions_version=message.instructions_version,
            state_reason=message.state_reason,
        )

    def row(self) -> dict[str, Any]:
        """The job as one flat row (for a DataFrame)."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "state": self.state,
            "total_items": self.counters.total_items,
            "labeled_items": self.counters.labeled_items,
            "cost_micros": self.counters.cost_micros,
        }


VERDICTS = {"confirmed": 1, "disconfirmed": 2, "split": 3}


@dataclass(frozen=True)
class Route:
    """A routing rule between jobs: the items whose label meets every
    condition given go on to the job `to` (one of yours), and its label comes
    back as their final one. `classes`: the label's class is one of them;
    `confidence_below`: its confidence is under it; `verdict` (verification
    jobs): confirmed, disconfirmed or split."""

    to: Job | str
    classes: tuple[str, ...] = ()
    confidence_below: float | None = None
    verdict: str = ""

    def to_proto(self) -> job_pb2.RoutingRule:
        """The rule as the API takes it (`Job.routing_rules`)."""
        rule = job_pb2.RoutingRule(
            target_job=self.to if isinstance(self.to, str) else self.to.name, classes=list(self.classes)
        )
        if self.confidence_below is not None:
            rule.confidence_below = self.confidence_below
        if self.verdict:
            if self.verdict not in VERDICTS:
                raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")
            rule.verdict = label_pb2.VerificationSummary.Verdict.ValueType(VERDICTS[self.verdict])
        return rule


@dataclass(frozen=True)
class Label:
    """An item's consolidated answer. `judgments` is how many judgments it rests on;
    `revision` grows each time a new judgment (or a re-run) changes it."""

    key: str
    value: Any
    confidence: float
    judgments: int
    revision: int
    human_annotated: bool
    sequence: int
    method: str
    tie: bool
    metadata: dict[str, Any]
    proto: label_pb2.Label = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: label_pb2.Label) -> Label:
        return cls(
            key=message.item_key,
            value=answer_value(message.value),
            confidence=message.confidence,
            judgments=message.judgment_count,
            revision=message.revision,
            human_annotated=message.human_annotated,
            sequence=message.sequence,
            method=message.method,
            tie=message.tie,
            metadata=json_format.MessageToDict(message.item_metadata),
            proto=message,
        )

    def row(self) -> dict[str, Any]:
        """The label as one flat row (for a DataFrame); the item's metadata stays in one column."""
        return {
            "key": self.key,
            "value": self.value,
            "confidence": self.confidence,
            "judgments": self.judgments,
            "revision": self.revision,
            "human_annotated": self.human_annotated,
            "sequence": self.sequence,
            "method": self.method,
            "tie": self.tie,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class Judgment:
    """One worker's raw answer. Gold judgments grade workers and excluded ones
    (their worker was disqualified) no longer count: filter on `gold` and
    `excluded` before rerunning a consolidation."""

    key: str
    worker: str
    value: Any
    time_spent: float
    submitted: float
    phase: str
    gold: bool
    gold_correct: bool | None
    excluded: bool
    excluded_reason: str
    account: str
    external_worker_id: str
    task: str
    proto: judgment_pb2.Judgment = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: judgment_pb2.Judgment) -> Judgment:
        return cls(
            key=message.item_key,
            worker=message.worker,
            value=answer_value(message.answer),
            time_spent=message.time_spent.ToMilliseconds() / 1000,
            submitted=message.create_time.ToNanoseconds() / 1e9,
            phase=_enum_name("TASK_PHASE_", task_pb2.TaskPhase.Name(message.phase)),
            gold=message.gold,
            gold_correct=message.gold_correct if message.HasField("gold_correct") else None,
            excluded=message.excluded,
            excluded_reason=message.excluded_reason,
            account=message.account,
            external_worker_id=message.external_worker_id,
            task=message.task,
            proto=message,
        )

    def row(self) -> dict[str, Any]:
        """The judgment as one flat row: crowd-kit reads `(task, worker, label)` from
        `key`, `worker` and `value`."""
        return {
            "key": self.key,
            "worker": self.worker,
            "value": self.value,
            "time_spent": self.time_spent,
            "submitted": self.submitted,
            "phase": self.phase,
            "gold": self.gold,
            "gold_correct": self.gold_correct,
            "excluded": self.excluded,
            "excluded_reason": self.excluded_reason,
            "account": self.account,
            "external_worker_id": self.external_worker_id,
            "task": self.task,
        }


@dataclass(frozen=True)
class Task:
    """A leased task, as a worker sees it: the content and when the lease ends."""

    name: str
    phase: str
    text: str
    json: str
    source_ref: str
    metadata: dict[str, Any]
    prelabel: Any
    proto: task_pb2.Task = field(repr=False, compare=False)
    # With `next_task(lookahead=True)`: the task after this one, leased too,
    # so its content can load while this one is worked; None when there is none.
    upcoming: Task | None = field(default=None, repr=False)

    @classmethod
    def from_proto(cls, message: task_pb2.Task, upcoming: task_pb2.Task | None = None) -> Task:
        return cls(
            name=message.name,
            phase=_enum_name("TASK_PHASE_", task_pb2.TaskPhase.Name(message.phase)),
            text=message.text,
            json=message.json,
            source_ref=message.source_ref,
            metadata=json_format.MessageToDict(message.metadata),
            prelabel=answer_value(message.prelabel),
            proto=message,
            upcoming=Task.from_proto(upcoming) if upcoming is not None else None,
        )


@dataclass(frozen=True)
class Added:
    """What one `add_items` (or `import_manifest`) call added: new items, of
    which gold, and keys already there (skipped)."""

    added: int
    gold: int
    duplicates: int
    proto: job_service_pb2.AddItemsResponse | job_service_pb2.ImportManifestResponse = field(
        repr=False, compare=False
    )

    @classmethod
    def from_proto(
        cls, message: job_service_pb2.AddItemsResponse | job_service_pb2.ImportManifestResponse
    ) -> Added:
        return cls(
            added=message.added_count,
            gold=message.gold_count,
            duplicates=message.duplicate_count,
            proto=message,
        )


@dataclass(frozen=True)
class Comment:
    """A worker's comment on one of its tasks, for the job's owner."""

    task: str
    key: str
    worker: str
    worker_display_name: str
    text: str
    created: float
    proto: task_pb2.TaskComment = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: task_pb2.TaskComment) -> Comment:
        return cls(
            task=message.task,
            key=message.item_key,
            worker=message.worker,
            worker_display_name=message.worker_display_name,
            text=message.text,
            created=message.create_time.ToNanoseconds() / 1e9,
            proto=message,
        )


@dataclass(frozen=True)
class Decline:
    """A worker's decline of one of the job's tasks, for the job's owner."""

    key: str
    worker: str
    worker_display_name: str
    reason: str
    declined: float
    proto: job_service_pb2.ItemDecline = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: job_service_pb2.ItemDecline) -> Decline:
        return cls(
            key=message.item_key,
            worker=message.worker,
            worker_display_name=message.worker_display_name,
            reason=message.reason,
            declined=message.decline_time.ToNanoseconds() / 1e9,
            proto=message,
        )


@dataclass(frozen=True)
class Item:
    """One item as its owner reads it (`get_item`): what workers see (`text`, `json`
    or `source_ref`), its metadata, its gold answer (owner only; None for work items),
    its state, its current label (None until it has one), the workers' comments on
    it, the times workers declined it (worker, reason) and, for an item a routing
    rule sent here, the job it came from."""

    key: str
    text: str
    json: str
    source_ref: str
    metadata: dict[str, Any]
    gold: Any
    state: str
    failure_reason: str
    label: Label | None
    comments: tuple[Comment, ...]
    declines: tuple[tuple[str, str], ...]
    routed_from_job: str
    proto: job_service_pb2.GetItemResponse = field(repr=False, compare=False)

    @classmethod
    def from_proto(cls, message: job_service_pb2.GetItemResponse) -> Item:
        item = message.item
        return cls(
            key=item.key,
            text=item.text,
            json=item.json,
            source_ref=item.source_ref,
            metadata=json_format.MessageToDict(item.metadata),
            gold=answer_value(item.gold_answer) if item.HasField("gold_answer") else None,
            state=_enum_name("ITEM_STATE_", job_service_pb2.ItemState.Name(message.state)),
            failure_reason=message.failure_reason,
            label=Label.from_proto(message.label) if message.HasField("label") else None,
            comments=tuple(Comment.from_proto(c) for c in message.comments),
            declines=tuple((d.worker, d.reason) for d in message.declines),
            routed_from_job=message.routed_from_job,
            proto=message,
        )
