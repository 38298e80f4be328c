"""Bounding boxes: any number of class-named boxes on an image, consolidated the way
Ground Truth does (clustered by IoU and averaged)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from labelwire.server.consolidation import BoxConsolidation, BoxJudgments
from labelwire.server.consolidation.boxes import iou
from labelwire.server.domain.checks import require
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import Spread, TaskKind, classed_parts, dense_workers, item_label
from labelwire.server.domain.tasks.crowd import CrowdPage, attr, require_url
from labelwire.server.domain.tasks.exports import Exported, ExportTo, lowest_confidence

METHOD = "box_clusters"
BOX_MATCH_IOU = 0.5


def boxes(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
    """Boxes a majority of the item's workers drew, each the mean of its cluster.
    The confidence is the mean box confidence (share of workers times their
    mutual IoU), or the share who drew nothing when nobody's boxes survive."""
    names = spec.class_names
    index = {n: i for i, n in enumerate(names)}
    workers = dense_workers(judgments)
    rows: list[tuple[int, list[float], int]] = []
    for w, (_, answer) in zip(workers, judgments, strict=True):
        for box in answer["bounding_boxes"].get("boxes", []):
            left, top = float(box.get("left", 0)), float(box.get("top", 0))
            corners = [left, top, left + float(box["width"]), top + float(box["height"])]
            rows.append((w, corners, index[box["class_name"]]))
    n_workers = max(workers) + 1
    table = BoxJudgments.from_lists(
        np.zeros(len(rows), dtype=np.int64),
        [r[0] for r in rows],
        np.array([r[1] for r in rows], dtype=np.float64).reshape(-1, 4),
        [r[2] for r in rows],
        assigned=(np.zeros(n_workers, dtype=np.int64), np.arange(n_workers)),
        n_items=1,
        n_workers=n_workers,
    )
    result = BoxConsolidation().fit(table)
    out: list[dict[str, Any]] = []
    for (x0, y0, x1, y1), label in zip(result.boxes, result.labels, strict=True):
        out.append(
            {"class_name": names[int(label)], "left": float(x0), "top": float(y0),
             "width": float(x1 - x0), "height": float(y1 - y0)}
        )  # fmt: skip
    drew_nothing = n_workers - len({r[0] for r in rows})
    confidence = float(np.mean(result.confidence)) if out else drew_nothing / n_workers
    return item_label({"bounding_boxes": {"boxes": out}}, confidence, METHOD, judgments)


def _corners(box: dict[str, Any]) -> list[float]:
    left, top = float(box.get("left", 0)), float(box.get("top", 0))
    return [left, top, left + float(box.get("width", 0)), top + float(box.get("height", 0))]


def _boxes_match(given: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """Each gold box matched by its own given box of the same class at IoU >= BOX_MATCH_IOU
    (greedily, the best overlap first), and no box left over."""
    if len(given) != len(expected):
        return False
    unused = list(given)
    for want in expected:
        same = [b for b in unused if b.get("class_name") == want.get("class_name")]
        if not same:
            return False
        overlaps = iou(np.array([_corners(b) for b in same]), np.array([_corners(want)]))[:, 0]
        best = int(np.argmax(overlaps))
        if overlaps[best] < BOX_MATCH_IOU:
            return False
        unused.remove(same[best])
    return True


def pairs_with(given: Sequence[dict[str, Any]], centre: Sequence[dict[str, Any]]) -> bool:
    """Whether one worker's boxes pair one-to-one with the consolidated boxes (same class,
    IoU at least BOX_MATCH_IOU), greedily by IoU over all pairs."""
    if len(given) != len(centre):
        return False
    pairs = sorted(
        (
            (float(iou(np.array([_corners(a)]), np.array([_corners(b)]))[0, 0]), i, j)
            for i, a in enumerate(given)
            for j, b in enumerate(centre)
            if a.get("class_name") == b.get("class_name")
        ),
        reverse=True,
    )
    used_i: set[int] = set()
    used_j: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < BOX_MATCH_IOU:
            break
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
    return len(used_i) == len(given)


def box_spread(given: Sequence[Sequence[dict[str, Any]]], centre: Sequence[dict[str, Any]]) -> float:
    """1 minus the mean IoU of each consolidated box with each annotation's best
    box of its class; with no consolidated box, the share of annotations with boxes."""
    if not centre:
        return sum(1 for boxes in given if boxes) / max(len(given), 1)
    overlaps: list[float] = []
    for boxes in given:
        for want in centre:
            same = [b for b in boxes if b.get("class_name") == want.get("class_name")]
            best = (
                iou(np.array([_corners(b) for b in same]), np.array([_corners(want)]))[:, 0]
                if same
                else [0.0]
            )
            overlaps.append(float(np.max(best)))
    return 1.0 - float(np.mean(overlaps))


def _box_of(box: Mapping[str, Any], class_name: str) -> dict[str, Any]:
    """A box from one as Ground Truth writes it (`left`, `top`, `width`, `height`)."""
    return {
        "class_name": class_name,
        "left": float(box.get("left", 0)),
        "top": float(box.get("top", 0)),
        "width": float(box.get("width", 0)),
        "height": float(box.get("height", 0)),
    }


class BoundingBoxes(TaskKind):
    name = "bounding_box"
    answer_key = "bounding_boxes"
    component = "boxes"
    crowd_field = "annotatedResult"
    reviewable = True
    vote_share_methods = frozenset({METHOD})
    has_spread = True
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {"image": "BoundingBox"}
    groundtruth_outputs = ("groundtruth/object-detection",)
    keywords = ("bounding box", "object detection")
    names_classes = True

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        parts = classed_parts(spec, body, f"{field}.{self.answer_key}", "boxes", "class_name", "classes")
        for where, box in parts:
            for side in ("left", "top", "width", "height"):
                require(
                    math.isfinite(box.get(side, 0)),
                    f"{where}.{side} must be a finite number",
                    f"{where}.{side}",
                )
            require(
                box.get("left", 0) >= 0 and box.get("top", 0) >= 0,
                f"{where} left and top must be >= 0",
                where,
            )
            require(
                box.get("width", 0) > 0 and box.get("height", 0) > 0,
                f"{where} width and height must be > 0",
                where,
            )

    def label_item(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
        return boxes(spec, judgments)

    def names_class(self, body: Mapping[str, Any], name: str) -> bool:
        return any(b.get("class_name") == name for b in body.get("boxes", []))

    def spread(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Spread | None:
        """An annotation is an outlier when its boxes do not pair with the item's consolidated boxes."""
        centre = boxes(spec, judgments).value[self.answer_key]["boxes"]
        given = [a[self.answer_key].get("boxes", []) for _, a in judgments]
        return box_spread(given, centre), [not pairs_with(g, centre) for g in given]

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Boxes match one-to-one, each gold box by a box of its class at IoU >=
        BOX_MATCH_IOU, as Ground Truth clusters boxes."""
        return _boxes_match(mine.get("boxes", []), right.get("boxes", []))

    def label_from_groundtruth(
        self, value: Any, metadata: Mapping[str, Any], class_map: Mapping[str, str]
    ) -> tuple[Answer, float | None] | None:
        annotations = value.get("annotations", []) if isinstance(value, Mapping) else []
        boxes = [
            _box_of(a, class_map.get(str(a.get("class_id")), str(a.get("class_id"))))
            for a in annotations
            if isinstance(a, Mapping)
        ]
        objects = metadata.get("objects") or []
        return {"bounding_boxes": {"boxes": boxes}}, lowest_confidence(o.get("confidence") for o in objects)

    def answer_from_crowd_element(self, element: Mapping[str, Any]) -> Answer | None:
        drawn = element.get("boundingBoxes")
        if not isinstance(drawn, list):
            return None
        boxes = [_box_of(b, str(b.get("label", ""))) for b in drawn if isinstance(b, Mapping)]
        return {"bounding_boxes": {"boxes": boxes}}

    def crowd_element(self, page: CrowdPage) -> str:
        url = require_url(page.payload_kind, page.payload, "bounding boxes are drawn on an image")
        return (
            f'<crowd-bounding-box name="{self.crowd_field}" src="{attr(url)}" header="{page.header}" '
            f'labels="{attr(json.dumps(page.class_names))}">{page.instructions}</crowd-bounding-box>'
        )

    def crowd_answer(self, fields: Mapping[str, Any], classes: Sequence[str]) -> Answer | None:
        """Every box of a known class with a positive size, else nothing."""
        value = fields.get(self.crowd_field)
        if not isinstance(value, Mapping) or not isinstance(value.get("boundingBoxes"), list):
            return None
        boxes = []
        for box in value["boundingBoxes"]:
            if not isinstance(box, Mapping) or box.get("label") not in classes:
                return None
            try:
                left, top = float(box["left"]), float(box["top"])
                width, height = float(box["width"]), float(box["height"])
            except (KeyError, TypeError, ValueError):
                return None
            if width <= 0 or height <= 0:
                return None
            boxes.append(
                {"class_name": box["label"], "left": left, "top": top, "width": width, "height": height}
            )
        return {"bounding_boxes": {"boxes": boxes}}

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        index = to.index
        boxes = list(body.get("boxes", []))
        value = {
            "annotations": [
                {
                    "class_id": index.get(b["class_name"], -1),
                    "left": b.get("left", 0),
                    "top": b.get("top", 0),
                    "width": b.get("width", 0),
                    "height": b.get("height", 0),
                }
                for b in boxes
            ]
        }
        extra = {
            "class-map": {str(index.get(b["class_name"], -1)): b["class_name"] for b in boxes},
            "objects": [{"confidence": to.score} for _ in boxes],
        }
        return value, extra, "groundtruth/object-detection"
