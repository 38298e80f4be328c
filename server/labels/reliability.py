"""The reliability table: does a label stated at 0.8 turn out right four times in five?

Measured on gold items, each consolidated as a work item would be: from its first
`judgments_per_item` judgments, by the job's item-level vote, with each worker's
accuracy estimated from its gold record less that very item (a worker's answer on
an item must not vouch for itself), so the table shows how far a client can trust
a confidence when the label arrives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelwire.server.domain.model import JobSpec
from labelwire.server.domain.tasks import task_kind
from labelwire.server.labels.items import consolidate_item
from labelwire.server.store.rows import GoldJudgmentRow


@dataclass(frozen=True)
class Bin:
    lower: float
    upper: float
    items: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class Table:
    bins: list[Bin]
    items: int
    mean_confidence: float
    accuracy: float
    expected_calibration_error: float


def table(outcomes: Sequence[tuple[float, bool]], n_bins: int) -> Table:
    """Equal-width bins over [0, 1] (the last includes 1) and the expected calibration
    error, the items-weighted mean gap between each bin's accuracy and confidence."""
    sums = [[0, 0.0, 0] for _ in range(n_bins)]
    for confidence, right in outcomes:
        b = sums[min(int(confidence * n_bins), n_bins - 1)]
        b[0] += 1
        b[1] += confidence
        b[2] += right
    bins, gap = [], 0.0
    for i, (count, stated, hits) in enumerate(sums):
        mean = stated / count if count else 0.0
        accuracy = hits / count if count else 0.0
        gap += count * abs(accuracy - mean)
        bins.append(Bin(i / n_bins, (i + 1) / n_bins, int(count), mean, accuracy))
    n = len(outcomes)
    return Table(
        bins=bins,
        items=n,
        mean_confidence=sum(c for c, _ in outcomes) / n if n else 0.0,
        accuracy=sum(1 for _, r in outcomes if r) / n if n else 0.0,
        expected_calibration_error=gap / n if n else 0.0,
    )


SkillRecord = tuple[float | None, int, int]
"""A worker's last pass skill, gold answered and gold right, as `Tx.skills_of` gives them."""


def gold_outcomes(
    spec: JobSpec,
    rows: Sequence[GoldJudgmentRow],
    records: Mapping[int, SkillRecord],
    estimate: Callable[[float | None, int, int], float],
) -> list[tuple[float, bool]]:
    """(stated confidence, right) per gold item of a classification job, each worker's
    accuracy being `estimate` of its record less the item. An item whose label no
    judgment graded (a class nobody answered, with no right answer among them) tells
    nothing and is left out."""
    by_item: dict[int, list[tuple[int, dict[str, Any], bool]]] = {}
    for r in rows:
        by_item.setdefault(int(r.item_id), []).append(
            (int(r.worker_id), json.loads(r.answer), bool(r.gold_correct))
        )
    outcomes = []
    for judged in by_item.values():
        first = judged[: spec.judgments_per_item]
        skills = {}
        for worker, _, right in first:
            pass_skill, answered, correct = records.get(worker, (None, 0, 0))
            skills[worker] = estimate(pass_skill, max(answered - 1, 0), max(correct - right, 0))
        label = consolidate_item(spec, [(w, a) for w, a, _ in first], skills)
        key = task_kind(spec).answer_key
        if label is None or not task_kind(spec).single_class or key not in label.value:
            continue
        chosen = label.value[key]["class_name"]
        graded = {a[key]["class_name"]: right for _, a, right in judged}
        if chosen in graded:
            outcomes.append((label.confidence, graded[chosen]))
        elif any(graded.values()):
            outcomes.append((label.confidence, False))
    return outcomes
