"""Ground Truth style manifest rows (JSON Lines or CSV) as items.

A manifest is read twice: once to check every line (a bad line fails the
import naming its number, before anything is stored), once to add the items in
batches, so a manifest of millions of lines never sits in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.model import ItemInput, JobSpec
from labelwire.server.domain.tasks import task_kind
from labelwire.server.domain.validation import quote


def detect_format(uri: str, requested: str) -> str:
    if requested in ("jsonl", "csv"):
        return requested
    return "csv" if uri.lower().endswith(".csv") else "jsonl"


def _gold(spec: JobSpec, value: Any, number: int) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed: dict[str, Any] = json.loads(value)
            return parsed
        except ValueError:
            raise InvalidArgument(f"manifest line {number}: the gold answer is not JSON") from None
    answer = task_kind(spec).gold_from_cell(value)
    if answer is not None:
        return answer
    raise InvalidArgument(f"manifest line {number}: a {spec.task_type} gold answer must be a JSON Answer")


def read_items(
    spec: JobSpec,
    rows: Iterable[tuple[int, dict[str, Any]]],
    key_field: str,
    gold_field: str,
    explanation_field: str = "",
) -> Iterator[tuple[int, ItemInput]]:
    """(line number, item) for every row; raises InvalidArgument naming the
    line. The explanation is read only beside a gold answer."""
    for number, row in rows:
        if row.get("source-ref"):
            kind, payload = "source_ref", str(row.pop("source-ref"))
        elif "source" in row and row["source"] is not None:
            kind, payload = "text", str(row.pop("source"))
        else:
            raise InvalidArgument(f"manifest line {number} has neither source nor source-ref")
        if key_field:
            if key_field not in row or row[key_field] in (None, ""):
                raise InvalidArgument(f"manifest line {number} has no {quote(key_field)} (the key_field)")
            key = str(row[key_field])
        else:
            key = f"line-{number}"
        gold = _gold(spec, row.pop(gold_field, None), number) if gold_field else None
        explained = row.pop(explanation_field, None) if explanation_field else None
        yield (
            number,
            ItemInput(
                key=key,
                payload_kind=kind,
                payload=payload,
                metadata=row or None,
                gold=gold,
                gold_explanation=str(explained) if gold is not None and explained not in (None, "") else "",
            ),
        )
