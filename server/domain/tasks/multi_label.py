"""Multi-label classification: any number of the job's classes per item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from labelwire.server.consolidation import BinaryRelevance, MajorityVote, MultiLabelJudgments
from labelwire.server.domain.checks import quote, require
from labelwire.server.domain.model import MAJORITY_VOTE, Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import TaskKind
from labelwire.server.domain.tasks.crowd import CrowdPage, classifier, many_labels
from labelwire.server.domain.tasks.exports import Exported, ExportTo, lowest_confidence


def vote_per_class(names: Sequence[str], ticked: list[list[str]]) -> Consolidated:
    """Binary relevance with a plain vote per class: a class is in the label when
    more than half the workers ticked it; the confidence is that of the least
    certain class."""
    position = {name: i for i, name in enumerate(names)}
    selected = np.zeros((len(ticked), len(names)), dtype=np.bool_)
    for row, chosen in enumerate(ticked):
        selected[row, [position[name] for name in chosen]] = True
    share = np.zeros(len(names))
    if names:
        table = MultiLabelJudgments.from_lists([0] * len(ticked), list(range(len(ticked))), selected)
        result = BinaryRelevance(MajorityVote()).fit(table)
        share = result.posteriors[0]
    return Consolidated(
        value={"multi_label": {"class_names": [names[int(i)] for i in np.flatnonzero(share > 0.5)]}},
        confidence=float(np.maximum(share, 1 - share).min()) if names else 1.0,
        probabilities={n: float(p) for n, p in zip(names, share, strict=True) if p > 0},
        method=MAJORITY_VOTE,
        judgment_count=len(ticked),
        tie=bool(np.any(np.isclose(share, 0.5))),
    )


class MultiLabel(TaskKind):
    name = "multi_label"
    answer_key = "multi_label"
    component = "multilabel"
    crowd_field = "category"
    reviewable = True
    job_models = True
    routes_by_class = True
    vote_share_methods = frozenset({MAJORITY_VOTE})
    class_field = "class_names"
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {
        "image": "ImageMultiClassMultiLabel",
        "text": "TextMultiClassMultiLabel",
    }
    groundtruth_outputs = (
        "groundtruth/image-classification-multilabel",
        "groundtruth/text-classification-multilabel",
    )
    keywords = ("classification", "tagging")
    names_classes = True

    def label_classes(self, value: Answer, prelabel: str | None) -> set[str]:
        return {str(c) for c in (value.get(self.answer_key) or {}).get(self.class_field, [])}

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        names = set(spec.class_names)
        chosen = list(body.get("class_names", []))
        where = f"{field}.multi_label.class_names"
        for name in chosen:
            require(name in names, f"{where} {quote(name)} is not one of the job's classes", where)
        require(len(set(chosen)) == len(chosen), f"{where} must not repeat a class", where)

    def label_item(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
        return vote_per_class(
            spec.class_names, [answer["multi_label"].get("class_names", []) for _, answer in judgments]
        )

    def names_class(self, body: Mapping[str, Any], name: str) -> bool:
        return name in body.get("class_names", [])

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Exactly, as sets."""
        return set(mine.get("class_names", [])) == set(right.get("class_names", []))

    def category(self, answer: Answer) -> str:
        return "|".join(sorted((answer.get("multi_label") or {}).get("class_names", [])))

    def model_class(self, body: Mapping[str, Any]) -> str | None:
        return "|".join(sorted(body.get("class_names", [])))

    def gold_from_cell(self, value: Any) -> Answer | None:
        names = value if isinstance(value, list) else [v for v in str(value).split("|") if v]
        return {"multi_label": {"class_names": [str(n) for n in names]}}

    def label_from_groundtruth(
        self, value: Any, metadata: Mapping[str, Any], class_map: Mapping[str, str]
    ) -> tuple[Answer, float | None] | None:
        chosen = [str(v) for v in value] if isinstance(value, list) else []
        confidences = metadata.get("confidence-map") or {}
        names = [class_map.get(i, i) for i in chosen]
        return {"multi_label": {"class_names": names}}, lowest_confidence(confidences.get(i) for i in chosen)

    def answer_from_crowd_element(self, element: Mapping[str, Any]) -> Answer | None:
        labels = element.get("labels")
        if not isinstance(labels, list):
            return None
        return {"multi_label": {"class_names": list(dict.fromkeys(str(n) for n in labels))}}

    def crowd_element(self, page: CrowdPage) -> str:
        return classifier("crowd-classifier-multi-select", self.crowd_field, page.class_names, page)

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        labels = many_labels(fields.get(self.crowd_field))
        if labels is None or not set(labels) <= set(classes):
            return None
        return {"multi_label": {"class_names": sorted(set(labels))}}

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        index = to.index
        names = list(body.get("class_names", []))
        ids = [index.get(n, -1) for n in names]
        extra = {
            "class-map": {str(i): n for i, n in zip(ids, names, strict=True)},
            "confidence-map": {str(i): to.score for i in ids},
        }
        return ids, extra, f"groundtruth/{to.media}-classification-multilabel"
