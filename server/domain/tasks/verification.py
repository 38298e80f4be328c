"""Verification: workers confirm or disconfirm a label someone else gave (a
model's pre-label of any reviewable kind), a batch of items per task."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from labelwire.server.domain.checks import check_range, require
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks import verdicts
from labelwire.server.domain.tasks.base import EXACT_METHOD, TaskKind, vote_exact
from labelwire.server.domain.tasks.crowd import CrowdPage, classifier, one_label
from labelwire.server.domain.tasks.exports import Exported, ExportTo, groundtruth_confidence

VERIFICATION_CATEGORIES = ("correct", "incorrect")
DEFAULT_BATCH = 10


class Verification(TaskKind):
    name = "verification"
    answer_key = "verification"
    component = "verification"
    crowd_field = "verification"
    reviews_prelabel = True
    routes_by_class = True
    vote_share_methods = frozenset({EXACT_METHOD})
    counts_verdicts = True
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {"image": "VerificationBoundingBox"}
    groundtruth_outputs = ("groundtruth/label-verification",)
    keywords = ("verification",)
    batches_items = True

    def label_classes(self, value: Answer, prelabel: str | None) -> set[str]:
        """The model's class the item's workers verified."""
        if not prelabel:
            return set()
        reviewed = json.loads(prelabel)
        return {str((reviewed.get("classification") or {}).get("class_name", ""))}

    def batch_size(self, spec: JobSpec) -> int:
        return int(spec.task_config.get("batch_size", DEFAULT_BATCH) or DEFAULT_BATCH)

    def validate_config(self, spec: JobSpec) -> None:
        check_range("job.task_config.verification.batch_size", self.batch_size(spec), 1, 100)

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        where = f"{field}.verification.correct"
        require(bool(body.get("correct")), f"{where} needs one verdict per batch item", where)

    def label_item(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
        voted = verdicts.vote([a for _, a in judgments])
        return voted if voted is not None else vote_exact(judgments)

    def label_from_groundtruth(
        self, value: Any, metadata: Mapping[str, Any], class_map: Mapping[str, str]
    ) -> tuple[Answer, float | None] | None:
        name = metadata.get("class-name")
        if not isinstance(name, str):
            return None
        correct = name.strip().lower() == VERIFICATION_CATEGORIES[0]
        return {"verification": {"correct": [correct]}}, groundtruth_confidence(metadata.get("confidence"))

    def answer_from_crowd_element(self, element: Mapping[str, Any]) -> Answer | None:
        label = element.get("label")
        if not isinstance(label, str):
            return None
        return {"verification": {"correct": [label.strip().lower() == VERIFICATION_CATEGORIES[0]]}}

    def crowd_element(self, page: CrowdPage) -> str:
        """The proposed label beside the item, and the two verdicts."""
        prelabel = page.prelabel
        shown = json.dumps(dict(prelabel), indent=1, sort_keys=True) if prelabel else "(no label given)"
        proposed = f"<p>Proposed label:</p><pre>{html.escape(shown)}</pre>"
        return classifier("crowd-classifier", self.crowd_field, VERIFICATION_CATEGORIES, page, proposed)

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        label = one_label(fields.get(self.crowd_field))
        if label not in VERIFICATION_CATEGORIES:
            return None
        return {"verification": {"correct": [label == VERIFICATION_CATEGORIES[0]]}}

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        verdicts = list(body.get("correct", []))
        chosen = 0 if verdicts and all(verdicts) else 1
        return str(chosen), {"class-name": VERIFICATION_CATEGORIES[chosen]}, "groundtruth/label-verification"
