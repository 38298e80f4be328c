"""The lines of an exported augmented manifest, one per item of the job.

Ground Truth writes every input line to its output manifest, so an export
does too: gold items (flagged `labelwire-gold`), items still open and items
that failed (no label attribute; a failed one carries Ground Truth's
`failure-reason` in its metadata). Every line carries the client's item key
under `labelwire-key`, so it joins back to the client's data however the item
arrived.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from labelwire.server.consolidation import Judgments, WeightedMajorityVote
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.tasks import KINDS, boxes, kind_in, spans
from labelwire.server.files.augmented import KEY_FIELD, ExportFormat, ExportLabel, augmented_line

GOLD_FIELD = "labelwire-gold"
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
VOTE_SHARES = frozenset().union(*(kind.vote_share_methods for kind in KINDS.values()))
"""Methods whose stored confidence is a share of the votes, not a probability."""
GEOMETRY = frozenset({boxes.METHOD, spans.METHOD})


class ExportItem(Protocol):
    """An item with its current label's columns, None where it has none: a
    row of `Tx.export_items` (declared here: files/ reads no store module)."""

    @property
    def item_key(self) -> str: ...
    @property
    def item_metadata(self) -> str | None: ...
    @property
    def payload_kind(self) -> str: ...
    @property
    def payload(self) -> str: ...
    @property
    def is_gold(self) -> int: ...
    @property
    def failure_reason(self) -> str | None: ...
    @property
    def value(self) -> str | None: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def probabilities(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...
    @property
    def judgment_count(self) -> int | None: ...
    @property
    def human(self) -> int | None: ...
    @property
    def created_at(self) -> float | None: ...


def job_name(requested: str, display_name: str, job_id: int) -> str:
    """The `job-name` of every line: the name the caller chose, else the job's
    display name made into a Ground Truth job name (`LabelingJobName` rules)."""
    if requested:
        if not JOB_NAME.match(requested):
            raise InvalidArgument(
                "label_job_name must be 1 to 63 letters, digits and hyphens, starting and ending with a"
                f" letter or digit (Ground Truth's LabelingJobName), got {requested[:100]!r}"
            )
        return requested
    slug = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")[:63].rstrip("-")
    return slug or f"labelwire-job-{job_id}"


def _posterior(counts: list[int], chosen: int) -> float:
    """The chosen class's posterior when every judgment comes from a worker of
    the library's default accuracy (WeightedMajorityVote without skills)."""
    answers = [c for c, n in enumerate(counts) for _ in range(n)]
    table = Judgments.from_lists(
        [0] * len(answers), list(range(len(answers))), answers, n_classes=len(counts), n_items=1
    )
    return float(WeightedMajorityVote().fit(table).posteriors[0][chosen])


def reported_confidence(
    method: str,
    confidence: float,
    judgment_count: int,
    probabilities: Mapping[str, float],
    answer: Mapping[str, Any],
    classes: tuple[str, ...],
) -> float:
    """The confidence an export states. A posterior (weighted vote, Dawid-Skene,
    GLAD, ...) is stated as it is. A share of votes is not a probability (one
    judgment is a share of 1.0), so it becomes the posterior of the same votes
    from workers of default accuracy: one judgment gives 0.7, three agreeing of
    three classes 0.98. Boxes and spans also weigh overlap: they state their own
    figure, capped at what as many agreeing judgments would give."""
    if method not in VOTE_SHARES or judgment_count <= 0:
        return confidence
    kind = kind_in(answer)
    if kind is not None and kind.single_class and probabilities and len(classes) >= 2:
        counts = [round(float(probabilities.get(c, 0.0)) * judgment_count) for c in classes]
        name = answer[kind.answer_key].get("class_name")
        if name in classes and sum(counts) == judgment_count:
            return _posterior(counts, classes.index(name))
    if method in GEOMETRY:
        return min(confidence, _posterior([judgment_count, 0], 0))
    agree = min(max(round(confidence * judgment_count), 0), judgment_count)
    return _posterior([agree, judgment_count - agree], 0)


def export_line(row: ExportItem, fmt: ExportFormat) -> tuple[dict[str, Any], bool]:
    """One item's line from an `export_items` row, and whether it has a label
    (a labeled row has every label column)."""
    line: dict[str, Any] = dict(json.loads(row.item_metadata)) if row.item_metadata else {}
    line.pop("source", None)
    line.pop("source-ref", None)  # a Ground Truth line has exactly one of them: the item's payload
    line["source-ref" if row.payload_kind == "source_ref" else "source"] = row.payload
    line[KEY_FIELD] = row.item_key
    if int(row.is_gold):
        line[GOLD_FIELD] = True
    if row.value is None:
        if row.failure_reason:
            line[fmt.label_attribute + "-metadata"] = {
                "failure-reason": row.failure_reason,
                "job-name": fmt.job_name,
            }
        return line, False
    answer = json.loads(row.value)
    confidence = reported_confidence(
        str(row.method),
        float(row.confidence or 0.0),
        int(row.judgment_count or 0),
        json.loads(row.probabilities) if row.probabilities else {},
        answer,
        fmt.classes,
    )
    label = ExportLabel(
        line=line,
        answer=answer,
        confidence=confidence,
        human_annotated=bool(row.human),
        created=datetime.fromtimestamp(float(row.created_at or 0.0), UTC),
    )
    return augmented_line(label, fmt), True
