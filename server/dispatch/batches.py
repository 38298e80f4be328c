"""Bulk verification: one task holding up to `batch_size` items the model
gave the same class, as the bulk-QA seed ran it (25 images, one click each).

A batch is one task row per item, leased together and naming the batch's
first row (`tasks.batch_of`): each item keeps its own lease, reservation and
judgment, so expiry, budgets, gold grading, consolidation and
disqualification work per item exactly as for single tasks. The worker sees
and answers the first row; the others travel inside it.
"""

from __future__ import annotations

import json
import random

from labelwire.server.domain.errors import FailedPrecondition, InvalidArgument
from labelwire.server.domain.model import (
    Answer,
    BatchItem,
    JobSpec,
    SubmitResult,
    TaskPhase,
    TaskState,
)
from labelwire.server.domain.tasks import kind_in, task_kind
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow, JobRow, TaskRow

# How many open items past the first a batch looks through for ones of the
# same class: bounded so a job whose classes are interleaved leases smaller
# batches rather than scanning its whole queue under a lock.
SCAN_FACTOR = 8


def batch_size(spec: JobSpec) -> int:
    """Items per task: `batch_size` (default 10) for verification jobs, else 1."""
    return task_kind(spec).batch_size(spec)


def class_key(prelabel: str | None) -> str | None:
    """What items must share to be batched together: the model's class (or
    set of classes). Boxes, spans and masks are verified one at a time."""
    if not prelabel:
        return None
    label = json.loads(prelabel)
    kind = kind_in(label)
    name = kind.model_class(label[kind.answer_key]) if kind is not None else None
    return None if kind is None or name is None else f"{kind.name}:{name}"


def batch_mates(
    tx: Tx, spec: JobSpec, job_id: int, worker_id: int, first: ItemRow, room: int, *, pilot: bool
) -> list[ItemRow]:
    """Up to `room` open work items the worker has not seen, of the first
    item's class, oldest first. A gold first item (hidden gold drawn for
    this slot) is batched with work of its class, so it looks like work."""
    key = class_key(first.prelabel)
    if key is None or room <= 0:
        return []
    after = 0 if first.is_gold else first.id
    rows = tx.next_work_rows(job_id, worker_id, after, room * SCAN_FACTOR, pilot=pilot)
    mates = [row for row in rows if row.id != first.id and class_key(row.prelabel) == key]
    return mates[:room]


def room_in_budget(job: JobRow, spec: JobSpec, wanted: int) -> int:
    """How many more items than the first the budget pays for (each item's
    price is reserved as for a single task)."""
    price = spec.price_per_judgment_micros
    if not spec.budget_micros or not price:
        return wanted
    left = spec.budget_micros - job.cost_micros - job.reserved_micros - price
    return max(0, min(wanted, left // price))


def batch_item(item: ItemRow) -> BatchItem:
    return BatchItem(
        payload_kind=item.payload_kind,
        payload=item.payload,
        metadata=json.loads(item.metadata) if item.metadata else None,
        prelabel=json.loads(item.prelabel) if item.prelabel else None,
        prelabel_confidence=item.prelabel_confidence,
    )


def order(rows: list[ItemRow], rng: random.Random) -> list[ItemRow]:
    """The batch's order, shuffled so that a gold item has no telling place."""
    out = list(rows)
    rng.shuffle(out)
    return out


def members(tx: Tx, task: TaskRow) -> list[TaskRow]:
    """The task rows of the batch `task` belongs to; [task] for a single task."""
    first = task.batch_of
    return [task] if first is None else tx.batch_tasks(first)


def first_of(tx: Tx, task: TaskRow) -> TaskRow:
    """The batch's first row, the one the worker sees and answers."""
    first = task.batch_of
    if first is None or first == task.id:
        return task
    row = tx.task(first)
    assert row is not None
    return row


def verdicts(spec: JobSpec, answer: Answer, count: int) -> list[bool]:
    """A verification answer's verdicts, exactly one per item of the task."""
    body = answer.get("verification") or {}
    given = list(body.get("correct", []))
    if len(given) != count:
        raise InvalidArgument(
            f"answer.verification.correct needs one verdict per item of the task: {count}, got {len(given)}",
            "answer.verification.correct",
        )
    return [bool(v) for v in given]


def per_item(verdict: bool) -> Answer:
    """The judgment a verdict makes on its own item."""
    return {"verification": {"correct": [verdict]}}


def check_resubmission(tx: Tx, rows: list[TaskRow], answers: list[Answer], name: str) -> None:
    """A batch answered again: the same verdicts are a retried call; others are refused."""
    for row, answer in zip(rows, answers, strict=True):
        earlier = tx.judgment(row.id)
        if earlier is None or json.loads(earlier.answer) != answer:
            raise FailedPrecondition(f"task {name} was already answered with a different answer")


def submitted_result(tx: Tx, worker_id: int, name: str) -> SubmitResult:
    worker = tx.worker(worker_id)
    assert worker is not None
    return SubmitResult(name, worker.status)


def is_work(phase: TaskPhase) -> bool:
    return phase == TaskPhase.WORK


def leased(row: TaskRow) -> bool:
    return row.state == TaskState.LEASED
