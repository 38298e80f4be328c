"""Entity spans: class-named character ranges of a text, voted per character and rebuilt."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from labelwire.server.consolidation import SpanJudgments, SpanVote
from labelwire.server.domain.checks import require
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import TaskKind, classed_parts, dense_workers, item_label
from labelwire.server.domain.tasks.crowd import CrowdPage, ItemRejected, attr
from labelwire.server.domain.tasks.exports import Exported, ExportTo, lowest_confidence

METHOD = "span_vote"


def spans(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
    """Entity spans rebuilt from a per-character vote; the confidence is the
    mean span confidence, or 1.0 when the workers agree there is none."""
    names = spec.class_names
    index = {n: i for i, n in enumerate(names)}
    workers = dense_workers(judgments)
    rows: list[tuple[int, int, int, int]] = []
    for w, (_, answer) in zip(workers, judgments, strict=True):
        for span in answer["spans"].get("spans", []):
            rows.append((w, int(span.get("start", 0)), int(span["end"]), index[span["entity_type"]]))
    n_workers = max(workers) + 1
    length = max((r[2] for r in rows), default=1)
    table = SpanJudgments.from_lists(
        np.zeros(len(rows), dtype=np.int64),
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        assigned=(np.zeros(n_workers, dtype=np.int64), np.arange(n_workers)),
        n_tokens=[length],
        n_labels=len(names),
        n_workers=n_workers,
    )
    result = SpanVote().fit(table)
    out = [
        {"entity_type": names[int(label)], "start": int(start), "end": int(end)}
        for start, end, label in zip(result.starts, result.ends, result.labels, strict=True)
    ]
    return item_label(
        {"spans": {"spans": out}}, float(np.mean(result.confidence)) if out else 1.0, METHOD, judgments
    )


def _span_key(span: dict[str, Any]) -> tuple[str, int, int]:
    return str(span.get("entity_type", "")), int(span.get("start", 0)), int(span.get("end", 0))


def _span_of(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A span from an entity as Ground Truth writes one (`label`, `startOffset`, `endOffset`)."""
    return {
        "entity_type": str(entity.get("label", "")),
        "start": int(entity.get("startOffset", 0)),
        "end": int(entity.get("endOffset", 0)),
    }


class Spans(TaskKind):
    name = "spans"
    answer_key = "spans"
    component = "spans"
    crowd_field = "crowd-entity-annotation"
    classes_key = "entity_types"
    reviewable = True
    vote_share_methods = frozenset({METHOD})
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {"text": "NamedEntityRecognition"}
    groundtruth_outputs = ("groundtruth/text-span",)
    keywords = ("named entity", "text span")
    names_classes = True

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        parts = classed_parts(
            spec, body, f"{field}.{self.answer_key}", "spans", "entity_type", "entity types"
        )
        for where, span in parts:
            require(
                0 <= span.get("start", 0) < span.get("end", 0), f"{where} must have 0 <= start < end", where
            )

    def label_item(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
        return spans(spec, judgments)

    def names_class(self, body: Mapping[str, Any], name: str) -> bool:
        return any(s.get("entity_type") == name for s in body.get("spans", []))

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """As sets of (type, start, end)."""
        return sorted(map(_span_key, mine.get("spans", []))) == sorted(map(_span_key, right.get("spans", [])))

    def label_from_groundtruth(
        self, value: Any, metadata: Mapping[str, Any], class_map: Mapping[str, str]
    ) -> tuple[Answer, float | None] | None:
        inner = value.get("annotations", {}) if isinstance(value, Mapping) else {}
        entities = inner.get("entities", []) if isinstance(inner, Mapping) else []
        spans = [_span_of(e) for e in entities if isinstance(e, Mapping)]
        confidences = [e.get("confidence") for e in metadata.get("entities") or [] if isinstance(e, Mapping)]
        return {"spans": {"spans": spans}}, lowest_confidence(confidences)

    def answer_from_crowd_element(self, element: Mapping[str, Any]) -> Answer | None:
        entities = element.get("entities")
        if not isinstance(entities, list):
            return None
        spans = [_span_of(e) for e in entities if isinstance(e, Mapping)]
        return {"spans": {"spans": spans}}

    def crowd_element(self, page: CrowdPage) -> str:
        if page.payload_kind == "source_ref":
            raise ItemRejected("span annotation on Mechanical Turk needs the text inline, not a source_ref")
        labels = [
            {"label": c.name, "shortDisplayName": c.name[:16], "fullDisplayName": c.description or c.name}
            for c in page.classes
        ]
        return (
            f'<crowd-entity-annotation name="{self.crowd_field}" header="{page.header}" '
            f'labels="{attr(json.dumps(labels))}" text="{attr(page.payload)}">{page.instructions}'
            "</crowd-entity-annotation>"
        )

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        """Every entity of a known class over a non-empty range, in text order, else nothing."""
        value = fields.get(self.crowd_field)
        if not isinstance(value, Mapping) or not isinstance(value.get("entities"), list):
            return None
        spans = []
        for entity in value["entities"]:
            if not isinstance(entity, Mapping) or entity.get("label") not in classes:
                return None
            start, end = entity.get("startOffset"), entity.get("endOffset")
            if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
                return None
            spans.append({"entity_type": entity["label"], "start": start, "end": end})
        spans.sort(key=lambda s: (s["start"], s["end"], s["entity_type"]))
        return {"spans": {"spans": spans}}

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        spans = list(body.get("spans", []))
        value = {
            "annotations": {
                "labels": [{"label": c} for c in to.classes],
                "entities": [
                    {"label": s["entity_type"], "startOffset": s["start"], "endOffset": s["end"]}
                    for s in spans
                ],
            }
        }
        return (
            value,
            {"entities": [{"confidence": to.score} for _ in spans]},
            "groundtruth/text-span",
        )
