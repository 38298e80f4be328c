"""From an item's judgments to a label event in the job's feed.

Item-level consolidation runs the moment an item has its judgments, inside the
transaction that recorded the last one, so the label and its feed sequence are
committed together with the judgment that completed them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labelwire.server.dispatch.gate import applicant_pool, estimated_skill
from labelwire.server.domain import specs
from labelwire.server.domain.model import Answer, Consolidated, ItemState, JobSpec
from labelwire.server.domain.tasks import task_kind, uses_skill
from labelwire.server.labels import chains
from labelwire.server.labels.pass_models import JobModel, job_model, model_posterior, save_model
from labelwire.server.store import Tx
from labelwire.server.store.rows import ItemRow, LabelRow

__all__ = ["JobModel", "save_model", "uses_skill"]

PRIOR_SAMPLE = 200
"""The labels a job's class frequencies weigh as, at most: a job with more has its counts scaled
down to this many, so the add-one smoothing of the vote's prior is as strong as when the
prior was read from a sample of this many current labels."""


def consolidate_item(
    spec: JobSpec,
    judgments: list[tuple[int, Answer]],
    skills: dict[int, float] | None = None,
    class_priors: Callable[[], Sequence[float]] | None = None,
    model: JobModel | None = None,
) -> Consolidated | None:
    """One item's label from its judgments, as the job's task kind consolidates
    them (`domain.tasks`); `skills` weigh workers for jobs that do, and
    `class_priors` gives the job's class frequencies, called only when a
    majority vote ties. A single-class job that weighs workers is labeled by its
    last pass's `model` when there is one."""
    if not judgments:
        return None
    kind = task_kind(spec)
    names = spec.class_names
    if (
        model is not None
        and kind.single_class
        and model.method == spec.consolidation_method
        and len(model.priors) == len(names)
    ):
        index = {name: i for i, name in enumerate(names)}
        answers = [(w, index[a[kind.answer_key]["class_name"]]) for w, a in judgments]
        posterior = model_posterior(model, answers, skills or {})
        label = int(np.argmax(posterior))
        return Consolidated(
            value={kind.answer_key: {"class_name": names[label]}},
            confidence=float(posterior[label]),
            probabilities={n: float(p) for n, p in zip(names, posterior, strict=True) if p > 1e-6},
            method=spec.consolidation_method,
            judgment_count=len(judgments),
            tie=bool(np.sum(np.isclose(posterior, posterior[label])) > 1),
        )
    return kind.consolidate(spec, judgments, skills, class_priors)


def _class_name(value: Any) -> str | None:
    """A label value's single class, as the job's class counts count it (None for another kind)."""
    name = value.get("classification", {}).get("class_name") if isinstance(value, dict) else None
    return name if isinstance(name, str) else None


def job_class_frequencies(tx: Tx, spec: JobSpec, item_id: int, item: ItemRow | None = None) -> list[float]:
    """How often each class is the current label of the item's job (this item left out),
    scaled to at most `PRIOR_SAMPLE` labels: the prior a vote is weighed by. From the job's
    class counts (`Tx.class_counts`, one row per class), kept by `append_label`. A caller
    holding the item's row passes it (PostgreSQL's writer would read it again: a round trip)."""
    item = item if item is not None else tx.item(item_id)
    index = {name: i for i, name in enumerate(spec.class_names)}
    counts = [0.0] * len(index)
    if item is None:
        return counts
    for name, count in tx.class_counts(item.job_id).items():
        if name in index:
            counts[index[name]] += count
    if item.label_sequence is not None:
        own = tx.label_event(item.job_id, item.label_sequence)
        mine = None if own is None else _class_name(json.loads(own.value))
        if mine is not None and mine in index:
            counts[index[mine]] -= 1
    total = sum(counts)
    if total > PRIOR_SAMPLE:
        counts = [c * PRIOR_SAMPLE / total for c in counts]
    return counts


def item_label(
    tx: Tx, spec: JobSpec, item_id: int, job_id: int | None = None, item: ItemRow | None = None
) -> Consolidated | None:
    """The label an item's counted judgments give now; with the item's `job_id`, by the
    job's last pass model when a pass has stored one. `item`: its row, if the caller has read
    it in this transaction (its label is what the prior leaves out)."""
    judgments = tx.item_judgments(item_id)
    weighs = uses_skill(spec) or task_kind(spec).single_class
    records = tx.skills_of([w for w, _ in judgments]) if judgments and weighs else {}
    unfitted = any(r[0] is None for r in records.values())
    pool = job_gold_pool(tx, job_id, spec) if job_id is not None and unfitted else None
    skills = {w: estimated_skill(*r, pool) for w, r in records.items()}
    if not uses_skill(spec):
        return consolidate_item(
            spec, judgments, skills, lambda: job_class_frequencies(tx, spec, item_id, item)
        )
    model = job_model(tx, job_id) if job_id is not None else None
    return consolidate_item(spec, judgments, skills, model=model)


def job_gold_pool(tx: Tx, job_id: int, spec: JobSpec) -> tuple[float, float] | None:
    """What a judge without a pass skill is shrunk towards, in a job that weighs workers and in
    a majority vote alike (whose confidence is the posterior at its judges' mean skill):
    `gate.applicant_pool`, the quiz records of every applicant, or in a job without a quiz the
    gold records of its qualified workers. Read only when such a judge is on the item: after a
    job's first pass rarely, in a majority-vote job (which has no pass) for every item, hence
    one grouped read of a few rows (`Tx.gold_records`) and a fit cached on them, and no read
    in a job without gold."""
    return applicant_pool(spec.gold, lambda quiz: tx.gold_records(job_id, quiz))


CORRECTION_METHOD = "owner_correction"


def emit_label(
    tx: Tx,
    job_id: int,
    item: ItemRow,
    label: Consolidated,
    now: float,
    *,
    spec: JobSpec | None = None,
    **item_values: Any,
) -> int | None:
    """Writes a label event for an item unless it repeats the item's current
    label, or the current label is the owner's correction (a person who owns
    the job has the last word over any later pass) or a downstream job's
    label routed back (its job has the last word); returns the new
    sequence, or None. `item_values` are other columns of the item to set, in
    the same update as its label when there is one."""
    current = None
    if item.label_sequence is not None:
        current = tx.label_event(job_id, item.label_sequence)
        if current is not None and current.method in (CORRECTION_METHOD, chains.ROUTED_METHOD):
            if item_values:
                tx.update_item(item.id, **item_values)
            return None
        if (
            current is not None
            and json.loads(current.value) == label.value
            and abs(current.confidence - label.confidence) < 0.005
            and current.judgment_count == label.judgment_count
        ):
            if item_values:
                tx.update_item(item.id, **item_values)
            return None
    return _append(tx, job_id, item, label, now, current, True, spec, item_values)


def append_label(
    tx: Tx,
    job_id: int,
    item: ItemRow,
    label: Consolidated,
    now: float,
    *,
    human: bool = True,
    spec: JobSpec | None = None,
    **item_values: Any,
) -> int:
    """The item's next revision, as the next event of the job's feed; in
    the same transaction, the job's class counts move from the label it replaces to
    this one, the item goes on to the jobs its job's routing
    rules name, and a forwarded item's label back to the item it came from
    (`labels.chains`). A caller that holds the job's spec passes it."""
    replaced = None if item.label_sequence is None else tx.label_event(job_id, item.label_sequence)
    return _append(tx, job_id, item, label, now, replaced, human, spec, item_values)


def _append(
    tx: Tx,
    job_id: int,
    item: ItemRow,
    label: Consolidated,
    now: float,
    replaced: LabelRow | None,
    human: bool,
    spec: JobSpec | None,
    item_values: dict[str, Any],
) -> int:
    """`append_label` given the item's current label event (`replaced`), which `emit_label` has read."""
    new, old = _class_name(label.value), None if replaced is None else _class_name(json.loads(replaced.value))
    if new != old:
        tx.count_classes(job_id, {n: d for n, d in ((new, 1), (old, -1)) if n is not None})
    sequence = tx.next_sequence(job_id)
    revision = item.label_revision + 1
    tx.insert_label(
        job_id,
        sequence,
        item.id,
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
    tx.update_item(item.id, **item_values, label_sequence=sequence, label_revision=revision)
    _chain(tx, spec, job_id, item, label, sequence, now, human)
    return sequence


def _corrected(tx: Tx, item: ItemRow) -> bool:
    """Whether the item's label is its owner's correction, which nothing revises."""
    if item.label_sequence is None:
        return False
    current = tx.label_event(item.job_id, item.label_sequence)
    return current is not None and current.method == CORRECTION_METHOD


def _chain(
    tx: Tx,
    spec: JobSpec | None,
    job_id: int,
    item: ItemRow,
    label: Consolidated,
    sequence: int,
    now: float,
    human: bool,
) -> None:
    if item.routed_from is not None:
        upstream = tx.item(item.routed_from)
        if upstream is not None and chains.takes_labels_back(tx, upstream) and not _corrected(tx, upstream):
            append_label(tx, upstream.job_id, upstream, chains.routed_back(label), now, human=human)
    if label.method in (chains.ROUTED_METHOD, CORRECTION_METHOD):
        return  # a label from downstream, or the owner's own word: neither goes on
    if spec is None:
        row = tx.job(job_id)
        spec = specs.from_json(json.loads(row.spec)) if row is not None else None
    if spec is not None and spec.routing_rules:
        chains.forward(tx, spec, job_id, item.id, label, sequence, now)


def class_posterior(spec: JobSpec, label: Consolidated) -> list[float] | None:
    """A single-class label's probabilities in the job's class order (what the dispatcher
    weighs a worker's per-class skill by); None for other task kinds."""
    if not task_kind(spec).single_class or not label.probabilities:
        return None
    return [float(label.probabilities.get(name, 0.0)) for name in spec.class_names]


def _one_more(tx: Tx, spec: JobSpec, job_id: int, item: ItemRow) -> int | None:
    """What asking one more judgment of an item reserves now, or None when
    the budget, less what is spent and reserved, cannot pay it (the item is
    then labeled with the judgments it has). A push workforce's claim holds
    the item, so its claim reserves the judgment's price and claimed fee here,
    as the claim did for the first ones; a pool lease reserves its own price
    when it is handed out."""
    claimed = item.claimed_by is not None
    cost = spec.price_per_judgment_micros + (item.claim_fee_micros if claimed else 0)
    if spec.budget_micros:
        job = tx.job(job_id)
        if job is None:
            return None
        left = spec.budget_micros - job.cost_micros - job.reserved_micros
        if left <= 0 or left < cost:
            return None
    return cost if claimed else 0


def finish_item(
    tx: Tx, spec: JobSpec, job_id: int, item_id: int, now: float, item: ItemRow | None = None
) -> bool:
    """Consolidates an item that has reached its target; with dynamic judgments
    an item whose confidence is under target gets one more judgment instead.
    Returns True when a label event was written. A caller that has read the
    item in this transaction passes its row (only its counts of judgments
    and leases may have changed since, which this does not read)."""
    item = item if item is not None else tx.item(item_id)
    assert item is not None
    label = item_label(tx, spec, item_id, job_id, item)
    if label is None:
        return False
    if (
        spec.target_confidence > 0
        and label.confidence < spec.target_confidence
        and item.target < spec.max_judgments_per_item
    ):
        more = _one_more(tx, spec, job_id, item)
        if more is not None:
            tx.set_open_posterior(item_id, label.confidence, class_posterior(spec, label))
        if more == 0:
            tx.update_item(item_id, target=item.target + 1)
            return False
        if more is not None:
            tx.update_item(item_id, target=item.target + 1, reserved_micros=item.reserved_micros + more)
            tx.count_job(job_id, reserved_micros=more)
            return False
    was_open = item.state == ItemState.OPEN and item.label_sequence is None
    if was_open:
        tx.count_job(job_id, labeled_items=1)
    return emit_label(tx, job_id, item, label, now, spec=spec, state=int(ItemState.LABELED)) is not None
