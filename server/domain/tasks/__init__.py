"""Task types, one module each, behind the `TaskKind` interface of `base`.

`task_kind(spec)` is how the rest of the server asks a job's type for its
rules; nothing outside this package compares task-type names (tests/
test_task_kinds.py). To add a task type: a module here with a `TaskKind`
subclass, listed in KINDS, and a component under `web/src/tasks/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labelwire.server.domain.model import Answer, JobSpec
from labelwire.server.domain.tasks.base import TaskKind, uses_skill, weighs_workers
from labelwire.server.domain.tasks.boxes import BoundingBoxes
from labelwire.server.domain.tasks.classification import Classification
from labelwire.server.domain.tasks.custom import Custom
from labelwire.server.domain.tasks.keypoints import Keypoints
from labelwire.server.domain.tasks.multi_label import MultiLabel
from labelwire.server.domain.tasks.numbers import Numbers
from labelwire.server.domain.tasks.segmentation import Segmentation
from labelwire.server.domain.tasks.spans import Spans
from labelwire.server.domain.tasks.verification import Verification

KINDS: dict[str, TaskKind] = {
    kind.name: kind
    for kind in (
        Classification(),
        MultiLabel(),
        BoundingBoxes(),
        Spans(),
        Segmentation(),
        Verification(),
        Custom(),
        Numbers(),
        Keypoints(),
    )
}
"""Every task type by `JobSpec.task_type`, in the order the API lists them."""

_BY_ANSWER = {kind.answer_key: kind for kind in KINDS.values()}

REVIEWED_KEYS = tuple(kind.answer_key for kind in KINDS.values() if kind.reviewable)
"""The answer kinds a verification job's pre-label (the label under review) may be."""


def task_kind(spec: JobSpec) -> TaskKind:
    """The job's task type."""
    return KINDS[spec.task_type]


def kind_named(task_type: str) -> TaskKind:
    return KINDS[task_type]


def kind_in(answer: Mapping[str, Any]) -> TaskKind | None:
    """The first task type, in KINDS' order, whose answer key the answer has."""
    for kind in KINDS.values():
        if kind.answer_key in answer:
            return kind
    return None


def kind_of_answer(answer: Answer) -> TaskKind | None:
    """The task type whose answers have this answer's one key, else None."""
    key = next(iter(answer), None) if len(answer) == 1 else None
    return _BY_ANSWER.get(key) if key is not None else None


__all__ = [
    "KINDS",
    "REVIEWED_KEYS",
    "TaskKind",
    "kind_in",
    "kind_named",
    "kind_of_answer",
    "task_kind",
    "uses_skill",
    "weighs_workers",
]
