"""Labels and judgments as the API returns them, read from their rows; the
conditions ListLabels filters by; and how many rows a stream reads at once."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from labelwire.server.domain import validation
from labelwire.server.domain.model import ItemInput, ItemState, Judgment, Label, TaskComment, TaskPhase
from labelwire.server.domain.tasks import kind_of_answer
from labelwire.server.store.rows import CommentRow, DeclineRow, JudgmentPageRow, LabelRow

STREAM_BATCH = 1000


@dataclasses.dataclass(frozen=True)
class ItemView:
    """One item as its owner reads it: what was added (gold included), where
    it is, its current label and what workers said about it."""

    job_id: int
    item: ItemInput
    state: ItemState
    failure_reason: str
    label: Label | None
    comments: list[TaskComment]
    routed_from_job: int | None
    declines: list[ItemDecline]
    # A presigned https link to the item's s3:// payload, when the owner may read it.
    source_url: str = ""


@dataclasses.dataclass(frozen=True)
class ItemDecline:
    """A worker's "not this one" on one of the item's tasks, for its owner."""

    worker_id: int
    worker_display_name: str
    reason: str
    declined_at: float
    item_key: str = ""


def _names_class(value: Any, name: str) -> bool:
    kind = kind_of_answer(value) if isinstance(value, dict) else None
    return kind is not None and kind.names_class(value[kind.answer_key], name)


@dataclasses.dataclass(frozen=True)
class LabelFilter:
    """ListLabels' conditions; the defaults match every label."""

    class_name: str = ""
    min_confidence: float | None = None
    max_confidence: float | None = None
    method: str = ""
    human: bool | None = None
    revised: bool = False
    contested: bool = False
    key_contains: str = ""

    def check(self) -> None:
        for field, value in (
            ("filter.min_confidence", self.min_confidence),
            ("filter.max_confidence", self.max_confidence),
        ):
            if value is not None:
                validation.check_range(field, value, 0.0, 1.0)
        if self.min_confidence is not None and self.max_confidence is not None:
            validation.require(
                self.min_confidence <= self.max_confidence,
                f"filter.max_confidence ({self.max_confidence:g}) is under"
                f" filter.min_confidence ({self.min_confidence:g})",
                "filter.max_confidence",
            )
        validation.require(
            len(self.method) <= 64,
            f"filter.method must be at most 64 characters, got {len(self.method)}",
            "filter.method",
        )
        validation.require(
            len(self.class_name) <= 256,
            f"filter.class_name must be at most 256 characters, got {len(self.class_name)}",
            "filter.class_name",
        )
        validation.require(
            len(self.key_contains) <= 256,
            f"filter.item_key_contains must be at most 256 characters, got {len(self.key_contains)}",
            "filter.item_key_contains",
        )

    def sql(self) -> dict[str, Any]:
        return {
            "min_confidence": self.min_confidence,
            "max_confidence": self.max_confidence,
            "method": self.method,
            "human": self.human,
            "revised": self.revised,
            "contested": self.contested,
        }

    def in_python(self) -> bool:
        return bool(self.class_name or self.key_contains)

    def matches(self, row: LabelRow) -> bool:
        if self.key_contains and self.key_contains not in row.item_key:
            return False
        return not self.class_name or _names_class(_shared_json(row.value), self.class_name)


STREAM_BATCH_BYTES = 512 * 1024


@functools.lru_cache(maxsize=8192)
def _shared_json(text: str) -> Any:
    """Label values and class probabilities repeat across a job's labels, so
    parsing each distinct text once keeps the label stream cheap. Callers only
    read the result."""
    return json.loads(text)


def label_of(job_id: int, row: LabelRow) -> Label:
    return Label(
        job_id=job_id,
        item_key=row.item_key,
        sequence=row.sequence,
        revision=row.revision,
        value=_shared_json(row.value),
        confidence=row.confidence,
        probabilities=_shared_json(row.probabilities),
        method=row.method,
        judgment_count=row.judgment_count,
        human=bool(row.human),
        tie=bool(row.tie),
        created_at=row.created_at,
        item_metadata=json.loads(row.item_metadata) if row.item_metadata else None,
    )


def comment_of(job_id: int, row: CommentRow) -> TaskComment:
    """A row of `task_comments` or `item_comments`."""
    return TaskComment(
        id=int(row.id),
        job_id=job_id,
        task_id=int(row.task_id),
        worker_id=int(row.worker_id),
        worker_display_name=row.display_name,
        item_key=row.item_key,
        text=row.body,
        created_at=float(row.created_at),
    )


def decline_of(row: DeclineRow) -> ItemDecline:
    """A row of `task_declines` or `item_declines`."""
    return ItemDecline(
        worker_id=int(row.worker_id),
        worker_display_name=row.display_name,
        reason=row.decline_reason or "",
        declined_at=float(row.finished_at or 0.0),
        item_key=row.item_key,
    )


def judgment_of(job_id: int, row: JudgmentPageRow) -> Judgment:
    return Judgment(
        job_id=job_id,
        task_id=int(row.task_id),
        item_key=row.item_key,
        worker_id=int(row.worker_id),
        answer=json.loads(row.answer),
        time_spent_ms=int(row.time_spent_ms),
        created_at=float(row.created_at),
        phase=TaskPhase(int(row.phase)),
        gold=bool(row.is_gold),
        gold_correct=None if row.gold_correct is None else bool(row.gold_correct),
        excluded=bool(row.excluded),
        account_id=None if row.account_id is None else int(row.account_id),
        external_worker_id=row.external_id,
        instructions_version=int(row.instructions_version),
    )


def row_bytes(row: LabelRow) -> int:
    """About what a label row takes as a message."""
    return 200 + len(row.item_key) + len(row.value) + len(row.probabilities) + len(row.item_metadata or "")


def _next_limit(rows: list[LabelRow]) -> int:
    """Rows per read, so that what a stream holds while its client is slow
    stays near STREAM_BATCH_BYTES however large each label's metadata is."""
    size = sum(row_bytes(r) for r in rows)
    return max(1, min(STREAM_BATCH, STREAM_BATCH_BYTES * len(rows) // size))
