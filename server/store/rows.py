"""Job and worker rows as typed records, decoded once where the store reads them.

They are the two rows every lease and judgment reads (several times in one
transaction, which both stores keep), so their columns are converted here
rather than by each caller; the core and dispatch read attributes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from labelwire.server.domain.model import EndReason, JobState, WorkerStatus

T = TypeVar("T")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _column(row: Any, column: str) -> Any:
    """A column by name, as untyped rows were read: for the callers (tests,
    code not yet moved to the attributes) that still index a row."""
    return getattr(row, column)


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

    if not TYPE_CHECKING:  # typed code reads attributes; mypy flags an index
        __getitem__ = _column

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

    if not TYPE_CHECKING:  # typed code reads attributes; mypy flags an index
        __getitem__ = _column


def _enum(cls: type[T]) -> Callable[[Any], T]:
    """A member by its stored value: a dict lookup, the enum's own call only
    for a value stored as something other than an int (it raises on a bad one)."""
    members: dict[Any, T] = cls._value2member_map_  # type: ignore[attr-defined]

    def convert(value: Any) -> T:
        member = members.get(value)
        return cls(int(value)) if member is None else member  # type: ignore[call-arg]

    return convert


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    "int | None": _int,
    "float | None": _float,
    "str | None": lambda v: v,
    "bytes | None": lambda v: None if v is None else bytes(v),
    "JobState": _enum(JobState),
    "EndReason": _enum(EndReason),
    "WorkerStatus": _enum(WorkerStatus),
}


_FIELD_TYPES: dict[type, dict[str, str]] = {
    cls: {f.name: str(f.type) for f in dataclasses.fields(cls)} for cls in (JobRow, WorkerRow)
}


def _decoder(cls: type[T]) -> Callable[[Any], T | None]:
    """Reads each column by its position among the row's column names (the two
    databases order them differently) and converts it by the field's type.

    Every lease and judgment decodes a job row and a worker row: by name
    (`sqlite3.Row` compares the name with each column in turn) into a frozen
    dataclass's `__init__` (one `object.__setattr__` a field) that took 28 µs
    a job row; by position into the slots directly, 4 µs (bench/README.md)."""
    fields = [
        (f.name, _CONVERT[str(f.type)], getattr(cls, f.name).__set__)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    ]
    plans: dict[tuple[str, ...], list[tuple[Callable[[Any, Any], None], int, Callable[[Any], Any]]]] = {}
    make = object.__new__

    def plan(names: tuple[str, ...]) -> list[tuple[Callable[[Any, Any], None], int, Callable[[Any], Any]]]:
        first = {name: index for index, name in reversed(list(enumerate(names)))}
        made = [(put, first[name], convert) for name, convert, put in fields]
        plans[names] = made
        return made

    def decode(row: Any) -> T | None:
        if row is None:
            return None
        names = tuple(row.keys())
        steps = plans.get(names) or plan(names)
        out = make(cls)
        for put, index, convert in steps:
            put(out, convert(row[index]))
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
    return replaced(row, {name: _CONVERT[types[name]](v) for name, v in values.items()})


def counted(row: JobRow, deltas: dict[str, int]) -> JobRow | None:
    """`row` after `UPDATE jobs SET column = column + delta`; None when one is not a column."""
    if not deltas.keys() <= _FIELD_TYPES[JobRow].keys():
        return None
    return row.plus(deltas)


job_row = _decoder(JobRow)
worker_row = _decoder(WorkerRow)


def job_rows(rows: list[Any]) -> list[JobRow]:
    return [row for row in map(job_row, rows) if row is not None]


def worker_rows(rows: list[Any]) -> list[WorkerRow]:
    return [row for row in map(worker_row, rows) if row is not None]
