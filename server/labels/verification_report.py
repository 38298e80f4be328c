"""The bulk-QA table of a verification job: per model class and confidence
bucket, what workers made of the model's labels, and per class the lowest
confidence from which the model's labels can be trusted at a target
precision, with a Wilson score interval (it stays inside [0, 1] and behaves
at the small counts a single bucket has, unlike the normal approximation).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from labelwire.server.domain.tasks import kind_in
from labelwire.server.store.rows import VerifiedRow

DEFAULT_EDGES = (0.80, 0.85, 0.90, 0.95, 1.00)
CONFIRMED, DISCONFIRMED, SPLIT = "confirmed", "disconfirmed", "split"


@dataclass
class Counts:
    total: int = 0
    confirmed: int = 0
    disconfirmed: int = 0
    split: int = 0

    def add(self, verdict: str) -> None:
        self.total += 1
        if verdict == CONFIRMED:
            self.confirmed += 1
        elif verdict == DISCONFIRMED:
            self.disconfirmed += 1
        else:
            self.split += 1

    def correct(self, split_is_correct: bool) -> int:
        return self.confirmed + (self.split if split_is_correct else 0)

    def percent_correct(self, split_is_correct: bool) -> float:
        return 100.0 * self.correct(split_is_correct) / self.total if self.total else 0.0


@dataclass
class ClassReport:
    class_name: str
    counts: Counts
    buckets: list[tuple[float, float, Counts]]
    target_reached: bool
    threshold: float
    items_above: int
    precision: float
    lower: float
    upper: float


@dataclass
class Report:
    classes: list[ClassReport] = field(default_factory=list)
    total: Counts = field(default_factory=Counts)


def wilson(successes: int, n: int, level: float) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) with no data."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def verdict_of(value: dict[str, Any], tie: bool) -> str:
    if tie:
        return SPLIT
    correct = (value.get("verification") or {}).get("correct") or [False]
    return CONFIRMED if correct[0] else DISCONFIRMED


def model_class(prelabel: dict[str, Any]) -> str:
    kind = kind_in(prelabel)
    name = kind.model_class(prelabel[kind.answer_key]) if kind is not None else None
    return name if name is not None else next(iter(prelabel), "")


def bucket_of(edges: tuple[float, ...], confidence: float) -> int | None:
    """The bucket [edges[b], edges[b+1]) holding `confidence` (the last one
    closed), else None."""
    for b in range(len(edges) - 1):
        last = b == len(edges) - 2
        if edges[b] <= confidence < edges[b + 1] or (last and confidence == edges[b + 1]):
            return b
    return None


def threshold(
    scored: list[tuple[float, bool]], target: float, level: float
) -> tuple[bool, float, int, int, float, float]:
    """The lowest confidence t whose items at or above t have a precision
    interval whose lower bound reaches `target`; when none does, the t with
    the highest lower bound. Returns (reached, t, n above, right above,
    lower, upper)."""
    ranked = sorted(scored, key=lambda pair: -pair[0])
    best: tuple[bool, float, int, int, float, float] = (False, 1.0, 0, 0, 0.0, 1.0)
    reached: tuple[bool, float, int, int, float, float] | None = None
    right = 0
    for n, (confidence, ok) in enumerate(ranked, start=1):
        right += int(ok)
        if n < len(ranked) and ranked[n][0] == confidence:
            continue  # a threshold keeps every item of its confidence
        low, high = wilson(right, n, level)
        if low >= target:
            reached = (True, confidence, n, right, low, high)
        if low > best[4]:
            best = (False, confidence, n, right, low, high)
    return reached if reached is not None else best


def build(
    rows: list[VerifiedRow],
    edges: tuple[float, ...] = DEFAULT_EDGES,
    *,
    split_is_correct: bool = False,
    target: float = 0.95,
    level: float = 0.95,
) -> Report:
    """`rows`: (prelabel, prelabel_confidence, value, tie) of the job's
    labeled non-gold items."""
    by_class: dict[str, list[tuple[float | None, str]]] = {}
    for row in rows:
        value = json.loads(row.value)
        name = model_class(json.loads(row.prelabel))
        confidence = None if row.prelabel_confidence is None else float(row.prelabel_confidence)
        by_class.setdefault(name, []).append((confidence, verdict_of(value, bool(row.tie))))
    report = Report()
    for name in sorted(by_class):
        counts = Counts()
        buckets = [(edges[b], edges[b + 1], Counts()) for b in range(len(edges) - 1)]
        scored: list[tuple[float, bool]] = []
        for confidence, verdict in by_class[name]:
            counts.add(verdict)
            report.total.add(verdict)
            if confidence is None:
                continue
            right = verdict == CONFIRMED or (split_is_correct and verdict == SPLIT)
            scored.append((confidence, right))
            slot = bucket_of(edges, confidence)
            if slot is not None:
                buckets[slot][2].add(verdict)
        reached, t, above, right_above, low, high = threshold(scored, target, level)
        report.classes.append(
            ClassReport(
                name,
                counts,
                buckets,
                reached,
                t,
                above,
                right_above / above if above else 0.0,
                low,
                high,
            )
        )
    return report
