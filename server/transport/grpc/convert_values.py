"""Conversions of the API's plain values: times, durations, structs and enums."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from google.protobuf.duration_pb2 import Duration
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from labelwire.server.domain import validation
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import (
    WorkerStatus,
)
from labelwire.v1 import (
    task_pb2,
)


def seconds_or(duration: Duration, default: int) -> int:
    return int(duration.seconds) if duration.seconds or duration.nanos else default


def duration_message(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def timestamp(ts: float) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(int(ts * 1e9))
    return t


def struct_dict(message: Struct, field: str) -> dict[str, Any]:
    """A caller's Struct as a dict; NaN, infinity and deep nesting are refused
    here, naming the field, since the JSON conversion cannot represent them."""
    stack: list[tuple[Struct | struct_pb2.ListValue, int]] = [(message, 1)]
    while stack:
        node, depth = stack.pop()
        validation.require(
            depth <= validation.MAX_JSON_DEPTH,
            f"{field} must nest at most {validation.MAX_JSON_DEPTH} levels deep",
            field,
        )
        values = node.fields.values() if isinstance(node, Struct) else node.values
        for value in values:
            kind = value.WhichOneof("kind")
            if kind == "number_value":
                validation.require(
                    math.isfinite(value.number_value), f"{field} must not contain NaN or infinity", field
                )
            elif kind == "struct_value":
                stack.append((value.struct_value, depth + 1))
            elif kind == "list_value":
                stack.append((value.list_value, depth + 1))
    return json_format.MessageToDict(message)


def enum_name(table: Mapping[Any, str], value: int, field: str, enum: Any) -> str:
    if value not in table:
        known = ", ".join(enum.Name(v) for v in table if v)
        raise InvalidArgument(f"{field} {value} is not one of {known}", field)
    return table[value]


def duration(seconds: float) -> Duration:
    return duration_message(seconds)


def duration_seconds(d: Duration) -> float | None:
    if not d.seconds and not d.nanos:
        return None
    return d.seconds + d.nanos / 1e9


# Every NextTask and SubmitJudgment answer carries one: looked up once, not
# formatted and searched by name on each call.
_WORKER_STATUSES = {
    status: task_pb2.WorkerStatus.Value(f"WORKER_STATUS_{status.name}")
    for status in WorkerStatus
    if f"WORKER_STATUS_{status.name}" in task_pb2.WorkerStatus.DESCRIPTOR.values_by_name
}


def worker_status(status: WorkerStatus) -> task_pb2.WorkerStatus.ValueType:
    found = _WORKER_STATUSES.get(status)
    return task_pb2.WorkerStatus.Value(f"WORKER_STATUS_{status.name}") if found is None else found


def seconds_of(duration: Duration, field: str) -> float:
    """A Duration's seconds; negative ones are refused."""
    seconds = duration.ToNanoseconds() / 1e9
    if seconds < 0:
        raise InvalidArgument(f"{field} must not be negative, got {seconds:g} s")
    return seconds
