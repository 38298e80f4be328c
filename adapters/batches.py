"""Bulk verification for push workforces: which items may share one outside
task, as the pool's batches do (`server/dispatch/batches.py`): a
verification job's items that the model gave the same class, up to the
job's `batch_size` (default 10). Each item keeps its own judgments; only the
outside task (a Mechanical Turk HIT, a Ground Truth data object) is shared.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

from labelwire.adapters.base import JobView, WorkItem, kind_in

DEFAULT_BATCH_SIZE = 10
VERIFICATION_CHOICES = ("correct", "incorrect")


def batch_size(job: JobView) -> int:
    """Items per outside task: `task_config.batch_size` for verification jobs, else 1."""
    if not job.kind.batches_items:
        return 1
    try:
        return max(1, int(job.task_config.get("batch_size", DEFAULT_BATCH_SIZE) or DEFAULT_BATCH_SIZE))
    except (TypeError, ValueError):
        return DEFAULT_BATCH_SIZE


def class_key(prelabel: Mapping[str, Any] | None) -> str | None:
    """What items must share to be verified together: the model's class (or set
    of classes). Boxes, spans and masks are verified one at a time."""
    kind = kind_in(prelabel) if prelabel else None
    if kind is None or prelabel is None:
        return None
    name = kind.model_class(prelabel[kind.answer_key])
    return None if name is None else f"{kind.answer_key}:{name}"


def group(items: Sequence[WorkItem], size: int) -> list[list[WorkItem]]:
    """The items in batches of at most `size` sharing a class, in claim order;
    an item without a class it could share is a batch of one."""
    out: list[list[WorkItem]] = []
    open_by_class: dict[str, list[WorkItem]] = {}
    for item in items:
        key = class_key(item.prelabel) if size > 1 else None
        if key is None:
            out.append([item])
            continue
        batch = open_by_class.get(key)
        if batch is None or len(batch) >= size:
            batch = []
            open_by_class[key] = batch
            out.append(batch)
        batch.append(item)
    return out


def place(keys: Sequence[str], extra: str, seed: str) -> list[str]:
    """`keys` with `extra` (a hidden gold item) at a place fixed by `seed`, so
    a gold item has no telling position and a retried round puts it there again."""
    rng = random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16))
    out = list(keys)
    out.insert(rng.randrange(len(out) + 1), extra)
    return out


def verdict_field(index: int, choice: str) -> str:
    """The form field of one item's choice on a batch page (a crowd-radio-button's
    name; crowd-form posts `{name: {value: checked}}` for each button)."""
    return f"item-{index}-{choice}"


def batch_verdicts(fields: Mapping[str, Any], count: int) -> list[dict[str, Any] | None]:
    """One verification answer per item of a batch page, in page order: None
    for an item whose choice is missing or ambiguous, so one skipped item does
    not cost the worker's other verdicts."""
    out: list[dict[str, Any] | None] = []
    for index in range(count):
        picked = [c for c in VERIFICATION_CHOICES if _checked(fields.get(verdict_field(index, c)))]
        out.append({"verification": {"correct": [picked[0] == "correct"]}} if len(picked) == 1 else None)
    return out


def _checked(value: Any) -> bool:
    """A crowd-radio-button's `{value: true}` (or a plain form's "on"/"true")."""
    if isinstance(value, Mapping):
        return any(v is True for v in value.values())
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is True or (isinstance(value, str) and value.strip().lower() in ("on", "true"))


def proposed(prelabel: Mapping[str, Any] | None) -> str:
    """The model's label as a worker reads it: its class (or classes)."""
    if not prelabel:
        return "(no label given)"
    kind = kind_in(prelabel)
    if kind is None or not kind.class_field:
        return "(a label that is not a class)"
    named = prelabel[kind.answer_key].get(kind.class_field, "" if kind.single_class else [])
    return str(named) if kind.single_class else ", ".join(str(c) for c in named)
