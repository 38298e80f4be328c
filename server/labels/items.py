"""From an item's judgments to a label event in the job's feed.

Item-level consolidation runs the moment an item has its judgments, inside the
transaction that recorded the last one, so the label and its feed sequence are
committed together with the judgment that completed them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from labelwire.server.dispatch.gate import estimated_skill
from labelwire.server.domain.model import Answer, Consolidated, ItemState, JobSpec
from labelwire.server.domain.tasks import task_kind, uses_skill
from labelwire.server.store import Tx

__all__ = ["uses_skill"]

PRIOR_SAMPLE = 500
"""Current labels read to estimate a job's class frequencies when a vote ties."""


def consolidate_item(
    spec: JobSpec,
    judgments: list[tuple[int, Answer]],
    skills: dict[int, float] | None = None,
    class_priors: Callable[[], Sequence[float]] | None = None,
) -> Consolidated | None:
    """One item's label from its judgments, as the job's task kind consolidates
    them (`domain.tasks`); `skills` weigh workers for jobs that do, and
    `class_priors` gives the job's class frequencies, called only when a
    majority vote ties."""
    if not judgments:
        return None
    return task_kind(spec).consolidate(spec, judgments, skills, class_priors)


def job_class_frequencies(tx: Tx, spec: JobSpec, item_id: int) -> list[float]:
    """How often each class is the current label among up to `PRIOR_SAMPLE` labeled
    items of the item's job (this one left out): the prior a tied vote is broken by. Read only on a tie, so an untied item costs no query."""
    item = tx.item(item_id)
    index = {name: i for i, name in enumerate(spec.class_names)}
    counts = [0.0] * len(index)
    if item is None:
        return counts
    for row in tx.current_labels(int(item["job_id"]), 0, PRIOR_SAMPLE):
        name = json.loads(row["value"]).get("classification", {}).get("class_name")
        if name in index and int(row["item_id"]) != item_id:
            counts[index[name]] += 1
    return counts


def item_label(tx: Tx, spec: JobSpec, item_id: int) -> Consolidated | None:
    """The label an item's counted judgments give now."""
    judgments = tx.item_judgments(item_id)
    weighs = uses_skill(spec) or task_kind(spec).single_class
    records = tx.skills_of([w for w, _ in judgments]) if judgments and weighs else {}
    skills = {w: estimated_skill(*r) for w, r in records.items()}
    if not uses_skill(spec):
        return consolidate_item(spec, judgments, skills, lambda: job_class_frequencies(tx, spec, item_id))
    return consolidate_item(spec, judgments, skills)


CORRECTION_METHOD = "owner_correction"


def emit_label(
    tx: Tx, job_id: int, item: Any, label: Consolidated, now: float, **item_values: Any
) -> int | None:
    """Writes a label event for an item unless it repeats the item's current
    label, or the current label is the owner's correction (a person who owns
    the job has the last word over any later pass); returns the new
    sequence, or None. `item_values` are other columns of the item to set, in
    the same update as its label when there is one."""
    if item["label_sequence"] is not None:
        current = tx.label_event(job_id, int(item["label_sequence"]))
        if current is not None and current["method"] == CORRECTION_METHOD:
            if item_values:
                tx.update_item(int(item["id"]), **item_values)
            return None
        if (
            current is not None
            and json.loads(current["value"]) == label.value
            and abs(float(current["confidence"]) - label.confidence) < 0.005
            and int(current["judgment_count"]) == label.judgment_count
        ):
            if item_values:
                tx.update_item(int(item["id"]), **item_values)
            return None
    return append_label(tx, job_id, item, label, now, **item_values)


def append_label(
    tx: Tx, job_id: int, item: Any, label: Consolidated, now: float, *, human: bool = True, **item_values: Any
) -> int:
    """The item's next revision, as the next event of the job's feed."""
    sequence = tx.next_sequence(job_id)
    revision = int(item["label_revision"]) + 1
    tx.insert_label(
        job_id,
        sequence,
        int(item["id"]),
        revision,
        label.value,
        label.confidence,
        label.probabilities,
        label.method,
        label.judgment_count,
        human,
        label.tie,
        now,
    )
    tx.update_item(int(item["id"]), **item_values, label_sequence=sequence, label_revision=revision)
    return sequence


def _one_more(tx: Tx, spec: JobSpec, job_id: int, item: Any) -> int | None:
    """What asking one more judgment of an item reserves now, or None when
    the budget, less what is spent and reserved, cannot pay it (the item is
    then labeled with the judgments it has). A push workforce's claim holds
    the item, so its claim reserves the judgment's price and claimed fee here,
    as the claim did for the first ones; a pool lease reserves its own price
    when it is handed out."""
    claimed = item["claimed_by"] is not None
    cost = spec.price_per_judgment_micros + (int(item["claim_fee_micros"]) if claimed else 0)
    if spec.budget_micros:
        job = tx.job(job_id)
        if job is None:
            return None
        left = spec.budget_micros - int(job["cost_micros"]) - int(job["reserved_micros"])
        if left <= 0 or left < cost:
            return None
    return cost if claimed else 0


def finish_item(tx: Tx, spec: JobSpec, job_id: int, item_id: int, now: float, item: Any = None) -> bool:
    """Consolidates an item that has reached its target; with dynamic judgments
    an item whose confidence is under target gets one more judgment instead.
    Returns True when a label event was written. A caller that has read the
    item in this transaction passes its row (only its counts of judgments
    and leases may have changed since, which this does not read)."""
    item = item if item is not None else tx.item(item_id)
    assert item is not None
    label = item_label(tx, spec, item_id)
    if label is None:
        return False
    if (
        spec.target_confidence > 0
        and label.confidence < spec.target_confidence
        and int(item["target"]) < spec.max_judgments_per_item
    ):
        more = _one_more(tx, spec, job_id, item)
        if more == 0:
            tx.update_item(item_id, target=int(item["target"]) + 1)
            return False
        if more is not None:
            tx.update_item(
                item_id, target=int(item["target"]) + 1, reserved_micros=int(item["reserved_micros"]) + more
            )
            tx.count_job(job_id, reserved_micros=more)
            return False
    was_open = int(item["state"]) == ItemState.OPEN and item["label_sequence"] is None
    if was_open:
        tx.count_job(job_id, labeled_items=1)
    return emit_label(tx, job_id, item, label, now, state=int(ItemState.LABELED)) is not None
