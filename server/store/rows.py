"""The store's rows as typed records: jobs, workers, items, tasks, labels and
the joins made for one report (judgments, exports, comments, declines).

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
        return replaced(self, {name: getattr(self, name) + d for name, d in deltas.items()})


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


class ExportItemRow(NamedTuple):
    """An item with its current label's columns, None where it has no label
    (`files.exports.ExportItem`)."""

    item_id: int
    item_key: str
    item_metadata: str | None
    payload_kind: str
    payload: str
    is_gold: int
    failure_reason: str | None
    value: str | None
    confidence: float | None
    probabilities: str | None
    method: str | None
    judgment_count: int | None
    human: int | None
    created_at: float | None


class CommentRow(NamedTuple):
    """A worker's comment on a task, with the worker's name and the item's key."""

    id: int
    task_id: int
    worker_id: int
    body: str
    created_at: float
    display_name: str
    item_key: str


class DeclineRow(NamedTuple):
    """A declined task, with the worker's name and the item's key ("" in one
    item's list, whose key the caller has)."""

    id: int
    worker_id: int
    decline_reason: str | None
    finished_at: float | None
    display_name: str
    item_key: str


class JudgmentRow(NamedTuple):
    """A worker's answer to a task, as it was submitted."""

    task_id: int
    job_id: int
    item_id: int
    worker_id: int
    answer: str
    time_spent_ms: int
    gold_correct: int | None
    excluded: int
    created_at: float
    instructions_version: int


class JudgmentPageRow(NamedTuple):
    """A judgment with what the owner needs to read it alone: its item's key,
    the task's phase and who the worker is outside labelwire."""

    task_id: int
    worker_id: int
    answer: str
    time_spent_ms: int
    gold_correct: int | None
    excluded: int
    created_at: float
    instructions_version: int
    item_key: str
    is_gold: int
    phase: int  # TaskPhase
    external_id: str | None
    account_id: int | None


class CountedJudgmentRow(NamedTuple):
    """A counted judgment of a non-gold item, with its item's key: what the
    quality report and the outlier report measure."""

    item_id: int
    worker_id: int
    answer: str
    time_spent_ms: int
    instructions_version: int
    item_key: str


class GoldJudgmentRow(NamedTuple):
    """A counted, graded judgment of a gold item."""

    item_id: int
    worker_id: int
    answer: str
    gold_correct: int


class PassInputRow(NamedTuple):
    """A counted judgment (gold too) with what a pass needs of its item."""

    item_id: int
    worker_id: int
    answer: str
    is_gold: int
    gold: str | None
    state: int  # ItemState
    label_sequence: int | None


class GoldOutcomeRow(NamedTuple):
    """A graded gold judgment: who answered and whether it was right."""

    worker_id: int
    gold_correct: int


class WorkAnswerRow(NamedTuple):
    """A counted judgment of a non-gold item, as the colluder check reads it."""

    item_id: int
    worker_id: int
    answer: str


class PrelabeledRow(NamedTuple):
    """An item's model pre-label beside its current label."""

    prelabel: str
    prelabel_confidence: float | None
    value: str


class VerifiedRow(NamedTuple):
    """A verification job's labeled item: the pre-label reviewed and the verdict."""

    prelabel: str
    prelabel_confidence: float | None
    value: str
    tie: int


class ModelAcceptedRow(NamedTuple):
    """An item the model labeled: the model's label and the current one."""

    key: str
    model_value: str
    value: str
    human: int


@functools.cache
def maker(cls: type[R]) -> Callable[[Sequence[Any]], R]:
    """Builds the record `cls` from a row's values in one call of C (no Python frame per row)."""
    return functools.partial(tuple.__new__, cls)  # type: ignore[arg-type]


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """A record's fields in order: a NamedTuple's or a dataclass's."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    names: tuple[str, ...] = cls._fields
    return names


def columns(cls: type[Any], alias: str = "", fields: Sequence[str] | None = None) -> str:
    """The SELECT list that reads a record's columns in the order of its fields."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in (fields if fields is not None else field_names(cls)))


ITEM_COLUMNS = columns(ItemRow)
TASK_COLUMNS = columns(TaskRow)
LABEL_COLUMNS = (
    columns(LabelRow, "e", LABEL_EVENT_FIELDS) + ", i.key AS item_key, i.metadata AS item_metadata"
)
"""A label row's SELECT list over `label_events e` joined to `items i`."""


def _enum(cls: type[T]) -> Callable[[Any], T]:
    """A member by its stored value: a dict lookup, the enum's own call only
    for a value stored as something other than an int (it raises on a bad one)."""
    members: dict[Any, T] = cls._value2member_map_  # type: ignore[attr-defined]

    def convert(value: Any) -> T:
        member = members.get(value)
        return cls(int(value)) if member is None else member  # type: ignore[call-arg]

    return convert


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "float | None": _float,
    "bytes | None": lambda v: None if v is None else bytes(v),
    "JobState": _enum(JobState),
    "EndReason": _enum(EndReason),
    "WorkerStatus": _enum(WorkerStatus),
}
"""How a column becomes its field's type; integers and text come out of both
databases as they are."""

_FIELD_TYPES: dict[type, dict[str, str]] = {
    cls: {f.name: str(f.type) for f in dataclasses.fields(cls)} for cls in (JobRow, WorkerRow)
}


def _decoder(cls: type[T]) -> Callable[[Any], T | None]:
    """Builds `cls` from a row of its columns in field order (`columns`), straight
    into its slots, converting only the fields that need it (enums, floats, bytes).

    Every lease and judgment decodes a job row and a worker row: by name into a
    frozen dataclass's `__init__` (one `object.__setattr__` a field) that took
    28 µs a job row; by position into the slots, 4 µs (bench/README.md)."""
    steps = [
        (getattr(cls, f.name).__set__, _CONVERT.get(str(f.type)))
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    ]
    make = object.__new__

    def decode(row: Any) -> T | None:
        if row is None:
            return None
        out = make(cls)
        for (put, convert), value in zip(steps, row, strict=True):
            put(out, value if convert is None else convert(value))
        return out  # type: ignore[no-any-return]

    return decode


def _copier(cls: type[T]) -> Callable[[T, dict[str, Any]], T]:
    """`dataclasses.replace` by the slots: the SQLite writer's kept rows take a
    judgment's counters this way (`replace` runs the frozen `__init__`, twice as slow)."""
    slots = [(getattr(cls, f.name).__get__, getattr(cls, f.name).__set__) for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    puts = {f.name: getattr(cls, f.name).__set__ for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    make = object.__new__

    def copy(row: T, changes: dict[str, Any]) -> T:
        out = make(cls)
        for get, put in slots:
            put(out, get(row))
        for name, value in changes.items():
            puts[name](out, value)
        return out  # type: ignore[no-any-return]

    return copy


_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {
    cls: _copier(cls) for cls in (JobRow, WorkerRow)
}


def replaced(row: T, changes: dict[str, Any]) -> T:
    """`row` with these fields changed (each a field: a KeyError names one that is not)."""
    out: T = _COPIERS[type(row)](row, changes)
    return out


def with_columns(row: T, values: dict[str, Any]) -> T | None:
    """`row` after `UPDATE ... SET column = value` of these values, each converted
    as if read back; None when one is not a column of the row."""
    types = _FIELD_TYPES.get(type(row))
    if types is None or not values.keys() <= types.keys():
        return None
    return replaced(
        row,
        {name: v if types[name] not in _CONVERT else _CONVERT[types[name]](v) for name, v in values.items()},
    )


def counted(row: JobRow, deltas: dict[str, int]) -> JobRow | None:
    """`row` after `UPDATE jobs SET column = column + delta`; None when one is not a column."""
    if not deltas.keys() <= _FIELD_TYPES[JobRow].keys():
        return None
    return row.plus(deltas)


job_row = _decoder(JobRow)
worker_row = _decoder(WorkerRow)
JOB_COLUMNS = columns(JobRow)
WORKER_COLUMNS = columns(WorkerRow)


def job_rows(rows: list[Any]) -> list[JobRow]:
    return [row for row in map(job_row, rows) if row is not None]


def worker_rows(rows: list[Any]) -> list[WorkerRow]:
    return [row for row in map(worker_row, rows) if row is not None]
