"""The store's rows as typed records: jobs, workers, items, tasks and labels.

Job and worker rows are read several times in one transaction (both stores
keep them), so their columns are converted once here, enums included. Item,
task and label rows are read on every lease and submit and by the thousand in
a stream, so they are built as cheaply as a row can be: the store selects
their columns in the order of the record's fields (`columns`) and the record
is the cursor's tuple itself (`NamedTuple`), values as the database gives
them (states and flags as integers, JSON as text), decoded by the caller that
reads them. The core, dispatch and labels read attributes, never `row["x"]`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from labelwire.server.domain.model import EndReason, JobState, WorkerStatus

T = TypeVar("T")
R = TypeVar("R", bound=tuple[Any, ...])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclasses.dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    owner_id: int
    spec: str
    state: JobState
    failure_reason: str
    created_at: float
    updated_at: float
    last_sequence: int
    total_items: int
    gold_items: int
    labeled_items: int
    failed_items: int
    judgments: int
    excluded_judgments: int
    cost_micros: int
    judgments_at_pass: int
    judgments_at_check: int
    reserved_micros: int
    end_reason: EndReason
    hidden_from: int | None
    spec_revision: int
    instructions_version: int
    pilot_until: int | None
    pilot_size: int

    def plus(self, deltas: dict[str, int]) -> JobRow:
        """The row with counters a transaction holds back until its flush (PostgreSQL)."""
        return dataclasses.replace(self, **{name: getattr(self, name) + d for name, d in deltas.items()})


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerRow:
    id: int
    job_id: int
    display_name: str
    external_id: str | None
    token_hash: bytes | None
    status: WorkerStatus
    quiz_remaining: int
    judgments: int
    gold_answered: int
    gold_correct: int
    last_active_at: float | None
    created_at: float
    skill: float | None
    quiz_answered: int
    quiz_correct: int
    offered: int
    gold_plan: int
    plan_hidden: int
    work_skill: float | None
    account_id: int | None


class ItemRow(NamedTuple):
    id: int
    job_id: int
    key: str
    payload_kind: str
    payload: str
    metadata: str | None
    prelabel: str | None
    prelabel_confidence: float | None
    gold: str | None
    is_gold: int
    state: int  # ItemState
    target: int
    done: int
    leased: int
    claimed_by: str | None
    label_sequence: int | None
    label_revision: int
    failure_reason: str | None
    created_at: float
    gold_use: int  # GoldUse
    exposures: int
    reserved_micros: int
    claim_fee_micros: int
    gold_explanation: str | None
    routed_from: int | None
    routed_from_job: int | None
    in_pilot: int
    open_confidence: float | None
    open_posterior: str | None


class TaskRow(NamedTuple):
    """A worker's lease on an item, and how it ended."""

    id: int
    job_id: int
    item_id: int
    worker_id: int
    phase: int  # TaskPhase
    state: int  # TaskState
    leased_at: float
    expires_at: float
    finished_at: float | None
    reserved_micros: int
    decline_reason: str | None
    batch_of: int | None
    instructions_version: int


class LabelRow(NamedTuple):
    """A label event of a job's feed, with its item's key and metadata."""

    job_id: int
    sequence: int
    item_id: int
    revision: int
    value: str
    confidence: float
    probabilities: str
    method: str
    judgment_count: int
    human: int
    tie: int
    created_at: float
    item_key: str
    item_metadata: str | None


LABEL_EVENT_FIELDS = LabelRow._fields[:-2]


@functools.cache
def maker(cls: type[R]) -> Callable[[Sequence[Any]], R]:
    """Builds the record `cls` from a row's values in one call of C (no Python frame per row)."""
    return functools.partial(tuple.__new__, cls)  # type: ignore[arg-type]


def columns(cls: type[tuple[Any, ...]], alias: str = "", fields: Sequence[str] | None = None) -> str:
    """The SELECT list that reads a record's columns in the order of its fields."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in (fields if fields is not None else cls._fields))  # type: ignore[attr-defined]


ITEM_COLUMNS = columns(ItemRow)
TASK_COLUMNS = columns(TaskRow)
LABEL_COLUMNS = (
    columns(LabelRow, "e", LABEL_EVENT_FIELDS) + ", i.key AS item_key, i.metadata AS item_metadata"
)
"""A label row's SELECT list over `label_events e` joined to `items i`."""


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "float | None": _float,
    "bytes | None": lambda v: None if v is None else bytes(v),
    "JobState": lambda v: JobState(int(v)),
    "EndReason": lambda v: EndReason(int(v)),
    "WorkerStatus": lambda v: WorkerStatus(int(v)),
}
"""How a column becomes its field's type; integers and text come out of both
databases as they are."""


def _decoder(cls: type[T]) -> Callable[[Any], T | None]:
    """Builds `cls` from a row of its columns in field order (`columns`),
    converting only the fields that need it (enums, floats, bytes)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    convert = tuple((i, _CONVERT[str(f.type)]) for i, f in enumerate(fields) if str(f.type) in _CONVERT)

    def decode(row: Any) -> T | None:
        if row is None:
            return None
        values = list(row)
        for i, to_type in convert:
            values[i] = to_type(values[i])
        return cls(*values)

    return decode


job_row = _decoder(JobRow)
worker_row = _decoder(WorkerRow)
JOB_COLUMNS = ", ".join(f.name for f in dataclasses.fields(JobRow))
WORKER_COLUMNS = ", ".join(f.name for f in dataclasses.fields(WorkerRow))


def job_rows(rows: list[Any]) -> list[JobRow]:
    return [row for row in map(job_row, rows) if row is not None]


def worker_rows(rows: list[Any]) -> list[WorkerRow]:
    return [row for row in map(worker_row, rows) if row is not None]
