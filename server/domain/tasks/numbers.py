"""Numbers: each worker types one value (a count, a measurement, a rating) within
the job's bounds and on its step; an item's label is the workers' median, which
one worker typing 1000 for 10 cannot move (`consolidation.numeric`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from labelwire.server.consolidation import RobustCentre
from labelwire.server.domain.checks import check_text, require
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import Spread, TaskKind, item_label, json_float
from labelwire.server.domain.tasks.exports import Exported, ExportTo

METHOD = "number_median"
MAX_UNIT = 32
RELATIVE_EPSILON = 1e-9
"""Two doubles this close (relative to their size) are the same typed value."""


def close(a: float, b: float, tolerance: float = 0.0) -> bool:
    return abs(a - b) <= tolerance + RELATIVE_EPSILON * max(1.0, abs(a), abs(b))


class Bounds:
    """A job's NumberConfig as floats: the bounds (None when unset), the step (0: any value)."""

    def __init__(self, spec: JobSpec) -> None:
        config = spec.task_config
        self.low = json_float(config["min_value"]) if "min_value" in config else None
        self.high = json_float(config["max_value"]) if "max_value" in config else None
        self.step = json_float(config.get("step", 0.0))
        self.unit = str(config.get("unit", ""))

    @property
    def base(self) -> float:
        return self.low if self.low is not None else 0.0

    def on_step(self, value: float) -> bool:
        if not self.step:
            return True
        steps = (value - self.base) / self.step
        return close(steps, round(steps))

    def snap(self, value: float) -> float:
        """The nearest allowed value: a median of two neighbours lands between steps."""
        if self.step:
            value = self.base + round((value - self.base) / self.step) * self.step
        if self.low is not None:
            value = max(value, self.low)
        if self.high is not None:
            value = min(value, self.high)
        return value


def value_of(answer: Answer) -> float:
    return json_float((answer.get("number") or {}).get("value", 0.0))


def consolidate_numbers(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
    """The median of the workers' values (snapped to the step), its spread the
    median absolute deviation. The confidence is the share of the values within
    the gold tolerance (at least half a step) of the label: a share of the votes,
    as for boxes, not a probability."""
    bounds = Bounds(spec)
    values = np.array([value_of(a) for _, a in judgments], dtype=np.float64)
    result = RobustCentre().fit(np.zeros(values.size, dtype=np.int64), values, n_items=1)
    centre = bounds.snap(float(result.centre[0]))
    tolerance = max(spec.gold.number_tolerance, bounds.step / 2)
    near = sum(close(float(v), centre, tolerance) for v in values)
    return item_label(
        {"number": {"value": centre, "spread": float(result.spread[0])}},
        near / len(values),
        METHOD,
        judgments,
    )


class Numbers(TaskKind):
    name = "number"
    answer_key = "number"
    component = "number"
    classes_key = "classes"
    min_classes = 0
    max_classes = 0
    vote_share_methods = frozenset({METHOD})
    has_spread = True

    def validate_config(self, spec: JobSpec) -> None:
        where = "job.task_config.number"
        bounds = Bounds(spec)
        for name, value in (("min_value", bounds.low), ("max_value", bounds.high), ("step", bounds.step)):
            if value is not None:
                require(math.isfinite(value), f"{where}.{name} must be a finite number", f"{where}.{name}")
        if bounds.low is not None and bounds.high is not None:
            require(
                bounds.low < bounds.high,
                f"{where}.max_value must be greater than min_value ({bounds.low:g}), got {bounds.high:g}",
                f"{where}.max_value",
            )
        require(bounds.step >= 0, f"{where}.step must be >= 0, got {bounds.step:g}", f"{where}.step")
        check_text(f"{where}.unit", bounds.unit, low=0, high=MAX_UNIT)

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        where = f"{field}.number.value"
        value = json_float(body.get("value", 0.0))
        require(math.isfinite(value), f"{where} must be a finite number, got {body.get('value')}", where)
        bounds = Bounds(spec)
        if bounds.low is not None:
            require(
                value >= bounds.low, f"{where} must be >= {bounds.low:g} (min_value), got {value:g}", where
            )
        if bounds.high is not None:
            require(
                value <= bounds.high, f"{where} must be <= {bounds.high:g} (max_value), got {value:g}", where
            )
        require(
            bounds.on_step(value),
            f"{where} must be {bounds.base:g} plus a whole number of steps of {bounds.step:g}, got {value:g}",
            where,
        )

    def label_item(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
        return consolidate_numbers(spec, judgments)

    def spread(self, spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Spread | None:
        """The values' MAD; outliers beyond three robust sigmas, a sigma being at
        least the gold tolerance or half a step (three workers typing 10 do not
        make a fourth typing 10.01 an outlier)."""
        bounds = Bounds(spec)
        values = np.array([value_of(a) for _, a in judgments], dtype=np.float64)
        floor = max(spec.gold.number_tolerance, bounds.step / 2)
        result = RobustCentre(min_spread=floor).fit(np.zeros(values.size, dtype=np.int64), values, n_items=1)
        return float(result.spread[0]), [bool(o) for o in result.outliers]

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Right within the gold policy's `number_tolerance` of the gold value."""
        if not right:
            return False
        key = self.answer_key
        return close(value_of({key: dict(mine)}), value_of({key: dict(right)}), spec.gold.number_tolerance)

    def category(self, answer: Answer) -> str:
        """The value itself: agreement on numbers is agreement on the typed value."""
        return f"{value_of(answer):.12g}"

    def gold_from_cell(self, value: Any) -> Answer | None:
        return {"number": {"value": json_float(value)}}

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        extra = {"spread": float(body.get("spread", 0.0))}
        return float(body.get("value", 0.0)), extra, "groundtruth/custom-number"
