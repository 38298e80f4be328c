"""Key points: each of the job's named points placed on the image or marked not
visible. Per point, the workers vote on whether it is visible and the placed
points' coordinate-wise median is its place (`consolidation.numeric`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labelwire.server.consolidation import RobustCentre
from labelwire.server.domain.checks import require
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import Spread, TaskKind, item_label, json_float
from labelwire.server.domain.tasks.exports import Exported, ExportTo

METHOD = "keypoint_median"
MAX_POINTS = 100
DEFAULT_SCALE = 100.0
"""Pixels a normalised distance is measured against when fewer than two points are visible."""


def placed(body: Mapping[str, Any]) -> dict[str, tuple[float, float] | None]:
    """Each point of an answer body by name: its place, or None when not visible."""
    out: dict[str, tuple[float, float] | None] = {}
    for p in body.get("points", []):
        out[str(p.get("name", ""))] = (
            None if p.get("not_visible") else (json_float(p.get("x", 0.0)), json_float(p.get("y", 0.0)))
        )
    return out


def scale(points: Sequence[tuple[float, float] | None]) -> float:
    """The diagonal of the box around the visible points: what distances are shares of."""
    seen = np.array([p for p in points if p is not None], dtype=np.float64).reshape(-1, 2)
    if len(seen) < 2:
        return DEFAULT_SCALE
    diagonal = float(np.hypot(*(seen.max(axis=0) - seen.min(axis=0))))
    return diagonal if diagonal > 0 else DEFAULT_SCALE


def consolidate_points(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
    """Per point: visible when at least half the workers placed it (an even
    split is a tie, flagged), then the median of the placed points, with its
    spread (median distance to it). A point's confidence is the share voting
    its visibility, times, for a visible one, the share of its placements
    within the gold tolerance of the label; the label's is their mean."""
    answers = [placed(a.get("keypoints") or {}) for _, a in judgments]
    names = spec.class_names
    n = len(answers)
    centres: dict[str, tuple[float, float] | None] = {}
    presence: dict[str, float] = {}
    spreads: dict[str, float] = {}
    tie = False
    for name in names:
        given = [a[name] for a in answers if a.get(name) is not None]
        share = len(given) / n
        presence[name] = share
        tie = tie or share == 0.5
        if share >= 0.5:
            result = RobustCentre().fit(np.zeros(len(given), dtype=np.int64), np.array(given), n_items=1)
            centres[name] = (float(result.centre[0][0]), float(result.centre[0][1]))
            spreads[name] = float(result.spread[0])
        else:
            centres[name] = None
    reach = spec.gold.keypoint_tolerance * scale(list(centres.values()))
    confidences = []
    points: list[dict[str, Any]] = []
    for name in names:
        centre = centres[name]
        if centre is None:
            confidences.append(1 - presence[name])
            points.append({"name": name, "not_visible": True, "presence": presence[name]})
            continue
        given = [a[name] for a in answers if a.get(name) is not None]
        near = sum(math.dist(g, centre) <= reach for g in given if g is not None)
        confidences.append(presence[name] * near / len(given))
        points.append(
            {
                "name": name,
                "x": centre[0],
                "y": centre[1],
                "presence": presence[name],
                "spread": spreads[name],
            }
        )
    return item_label(
        {"keypoints": {"points": points}},
        float(np.mean(confidences)) if confidences else 1.0,
        METHOD,
        judgments,
        tie=tie,
    )


def matches(spec: JobSpec, given: Mapping[str, Any], gold: Mapping[str, Any]) -> bool:
    """Every point's visibility as the gold's, and every visible one within the
    gold policy's `keypoint_tolerance` of the gold's place, as a share of the
    gold points' scale (PCK)."""
    mine, right = placed(given), placed(gold)
    reach = spec.gold.keypoint_tolerance * scale(list(right.values()))
    for name, want in right.items():
        got = mine.get(name)
        if (got is None) != (want is None):
            return False
        if got is not None and want is not None and math.dist(got, want) > reach:
            return False
    return set(mine) == set(right)


class Keypoints(TaskKind):
    name = "keypoints"
    answer_key = "keypoints"
    component = "keypoints"
    classes_key = "keypoints"
    max_classes = MAX_POINTS
    vote_share_methods = frozenset({METHOD})
    has_spread = True

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        where = f"{field}.keypoints.points"
        points = body.get("points", [])
        names = spec.class_names
        require(
            len(points) == len(names),
            f"{where} must have one entry for each of the job's {len(names)} key points, got {len(points)}",
            where,
        )
        seen: set[str] = set()
        for i, p in enumerate(points):
            at = f"{where}[{i}]"
            name = p.get("name", "")
            require(name in names, f"{at}.name is not one of the job's key points", f"{at}.name")
            require(name not in seen, f"{at}.name {name!r} is given twice", f"{at}.name")
            seen.add(name)
            for side in ("x", "y"):
                value = json_float(p.get(side, 0.0))
                if p.get("not_visible"):
                    require(
                        value == 0, f"{at}.{side} must be 0 for a point marked not_visible", f"{at}.{side}"
                    )
                require(
                    math.isfinite(value) and value >= 0,
                    f"{at}.{side} must be a finite number >= 0, got {p.get(side)}",
                    f"{at}.{side}",
                )

    def label_item(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
        return consolidate_points(spec, judgments)

    def spread(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Spread | None:
        """The mean spread of the label's visible points; an annotation is an
        outlier when it would fail the label taken as gold."""
        label = consolidate_points(spec, judgments).value["keypoints"]
        spreads = [float(p["spread"]) for p in label["points"] if not p.get("not_visible")]
        flags = [not matches(spec, a.get(self.answer_key) or {}, label) for _, a in judgments]
        return (float(np.mean(spreads)) if spreads else 0.0), flags

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Every point's visibility as the gold's, each placed one within the PCK tolerance."""
        return bool(right) and matches(spec, dict(mine), dict(right))

    def names_class(self, body: Mapping[str, Any], name: str) -> bool:
        return placed(body).get(name) is not None

    def category(self, answer: Answer) -> str:
        """Which points are visible: agreement on places is the spread report's."""
        seen = placed(answer.get(self.answer_key) or {})
        return ",".join(sorted(name for name, p in seen.items() if p is not None))

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        """Ground Truth's `crowd-keypoint` output: the visible points only, as `label`, `x`, `y`."""
        shown = [p for p in body.get("points", []) if not p.get("not_visible")]
        value = {"keypoints": [{"label": p["name"], "x": p.get("x", 0), "y": p.get("y", 0)} for p in shown]}
        extra = {
            "keypoints": [
                {"label": p["name"], "presence": p.get("presence", 0), "spread": p.get("spread", 0)}
                for p in body.get("points", [])
            ]
        }
        return value, extra, "groundtruth/custom-keypoint"
