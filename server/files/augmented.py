"""Ground Truth's augmented manifest, the one file format both the server (ExportLabels)
and the Ground Truth adapter write: the item's input line plus `<attribute>` and
`<attribute>-metadata`, as Ground Truth itself writes them.

It lives here rather than in the adapter because exports are the server's own
operation, whatever workforce labeled the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from labelwire.server.domain.tasks import KINDS, kind_in
from labelwire.server.domain.tasks.base import MaskWriter
from labelwire.server.domain.tasks.verification import VERIFICATION_CATEGORIES

__all__ = [
    "KEY_FIELD",
    "VERIFICATION_CATEGORIES",
    "ExportFormat",
    "ExportLabel",
    "MaskWriter",
    "augmented_line",
]

KEY_FIELD = "labelwire-key"


@dataclass(frozen=True)
class ExportLabel:
    """One item's label for an augmented manifest. `line` is the item as an input line
    (`source` or `source-ref`, plus any keys to pass through)."""

    line: Mapping[str, Any]
    answer: Mapping[str, Any]
    confidence: float | None
    human_annotated: bool = True
    created: datetime | None = None


@dataclass(frozen=True)
class ExportFormat:
    """What every line of one exported manifest shares."""

    attribute: str
    task_type: str
    media_type: str
    classes: tuple[str, ...]
    job_name: str

    @property
    def label_attribute(self) -> str:
        """The attribute its labels go under: a segmentation job's names its mask file (`-ref`)."""
        kind = KINDS.get(self.task_type)
        return kind.attribute(self.attribute) if kind is not None else self.attribute


def creation_date(moment: datetime) -> str:
    """Ground Truth's format: ISO 8601 in UTC, microseconds, no zone suffix."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def augmented_line(
    label: ExportLabel, fmt: ExportFormat, write_mask: MaskWriter | None = None
) -> dict[str, Any]:
    """The item's line plus `<attribute>` and `<attribute>-metadata`, as Ground Truth writes them."""
    value, extra, gt_type = _label_value(label, fmt, write_mask)
    attribute = fmt.label_attribute
    metadata: dict[str, Any] = {
        "type": gt_type,
        "job-name": fmt.job_name,
        "human-annotated": "yes" if label.human_annotated else "no",
        "creation-date": creation_date(label.created or datetime.now(UTC)),
    }
    if label.confidence is not None and "confidence" not in extra:
        metadata["confidence"] = round(float(label.confidence), 4)
    metadata.update(extra)
    line = {k: v for k, v in label.line.items() if k not in (attribute, attribute + "-metadata")}
    line[attribute] = value
    line[attribute + "-metadata"] = metadata
    return line


def _label_value(
    label: ExportLabel, fmt: ExportFormat, write_mask: MaskWriter | None
) -> tuple[Any, dict[str, Any], str]:
    media = "text" if fmt.media_type == "text" else "image"
    kind = kind_in(label.answer)
    if kind is not None:
        body = label.answer[kind.answer_key]
        return kind.export_value(body, label.confidence, fmt.classes, media, write_mask)
    raise ValueError(f"not a labelwire answer: {sorted(label.answer)}")
