"""Items from what a data scientist already has: a list of dicts, a pandas
DataFrame, or a CSV / JSON Lines file.

A row's `key` names the item (required, unique in the job). Its content is
`text`, `source_ref` (or `uri`: an image or document URI) or `json`. `gold`
(a class name, or a list of them for multi-label) makes it a test question,
`gold_use` (any, quiz, hidden) says which pool; `prelabel` and
`prelabel_confidence` carry a model's guess. A `metadata` dict, and every
other column, becomes the item's metadata, which comes back on its label.
Empty cells (None, NaN) are left out.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from labelwire.v1 import answer_pb2, item_pb2

__all__ = ["ItemSource", "answer", "item_from_row", "items_from"]

ItemSource = Iterable[item_pb2.Item | Mapping[str, Any]] | str | os.PathLike[str] | Any
"""What `add_items` takes: Item messages, dicts, a pandas DataFrame, or a path (.csv, .jsonl)."""

_CONTENT = ("text", "source_ref", "uri", "json")
_KNOWN = frozenset({"key", *_CONTENT, "gold", "gold_use", "prelabel", "prelabel_confidence", "metadata"})


def answer(
    value: str | float | Iterable[str] | Mapping[str, Any] | answer_pb2.Answer,
) -> answer_pb2.Answer:
    """An Answer from a class name (classification), a number (a number job's),
    a list of names (multi-label), a dict (a custom answer), or an Answer as it is."""
    if isinstance(value, answer_pb2.Answer):
        return value
    if isinstance(value, int | float):
        return answer_pb2.Answer(number=answer_pb2.NumberAnswer(value=float(value)))
    if isinstance(value, str):
        return answer_pb2.Answer(classification=answer_pb2.ClassificationAnswer(class_name=value))
    if isinstance(value, Mapping):
        out = answer_pb2.Answer()
        out.custom.update(dict(value))
        return out
    return answer_pb2.Answer(multi_label=answer_pb2.MultiLabelAnswer(class_names=list(value)))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _plain(value: Any) -> Any:
    """numpy scalars (from a DataFrame) as the Python values protobuf's Struct takes."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def item_from_row(row: Mapping[str, Any]) -> item_pb2.Item:
    """One Item from one row; raises ValueError naming what is missing."""
    cells = {str(k): _plain(v) for k, v in row.items() if not _empty(v)}
    if "key" not in cells:
        raise ValueError(f"every item needs a 'key'; this row has {sorted(cells)}")
    item = item_pb2.Item(key=str(cells["key"]))
    if "text" in cells:
        item.text = str(cells["text"])
    elif "source_ref" in cells or "uri" in cells:
        item.source_ref = str(cells.get("source_ref", cells.get("uri")))
    elif "json" in cells:
        body = cells["json"]
        item.json = body if isinstance(body, str) else json.dumps(body)
    if "gold" in cells:
        item.gold_answer.CopyFrom(answer(cells["gold"]))
        use = str(cells.get("gold_use", "any")).upper()
        item.gold_use = item_pb2.GoldUse.Value(f"GOLD_USE_{use}")
    if "prelabel" in cells:
        item.prelabel.CopyFrom(answer(cells["prelabel"]))
        item.prelabel_confidence = float(cells.get("prelabel_confidence", 0.0))
    metadata = dict(cells.get("metadata") or {})
    metadata.update({k: v for k, v in cells.items() if k not in _KNOWN})
    if metadata:
        json_format.ParseDict(metadata, item.metadata)
    return item


def _read(path: Path) -> Iterator[Mapping[str, Any]]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
        return
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
        return
    raise ValueError(f"{path}: items are read from .csv or .jsonl files, got {path.suffix or 'no suffix'}")


def items_from(source: ItemSource) -> tuple[Iterable[item_pb2.Item], int | None]:
    """The items of `source` (lazily for a file) and how many, when known up front."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return (item_from_row(row) for row in _read(path)), None
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        rows: list[Mapping[str, Any]] = source.to_dict(orient="records")
        return [item_from_row(row) for row in rows], len(rows)
    listed = list(source)
    return [i if isinstance(i, item_pb2.Item) else item_from_row(i) for i in listed], len(listed)
