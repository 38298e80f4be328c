"""Routing by the model: pre-labels accepted without a human where the model
is provably right, an audit share still labeled by humans, and the record of
what that saved and how precise it was.

Acceptance runs in the writer's transaction that makes items visible and in
every maintenance pass (thresholds learned since may accept items still
waiting), and only takes items no human has touched, so a worker never
holds a lease on an item the model has just labeled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from labelwire.server.domain.model import Consolidated, ItemState, JobSpec, ModelRouting
from labelwire.server.labels import items as labeling
from labelwire.server.labels.quality_report import calibrate, category, wilson
from labelwire.server.store import Tx
from labelwire.server.store.rows import ModelAcceptedRow, PrelabeledRow

METHOD = "model"
# Confidence buckets the learned thresholds are chosen from (edges 0.02 apart).
LEARNING_BUCKETS = 50
# A learned threshold is one whose precision, at the lower end of its 95% Wilson
# interval, reaches the target: provably right, not right by luck of a few labels.
WILSON_Z = 1.96
# Items read per write transaction when the model labels waiting items.
CHUNK = 1_000


def audited(job_id: int, key: str, share: float) -> bool:
    """Whether humans audit this item: a hash of the job and the key, so the
    choice is the same on every run and server and cannot be gamed by order."""
    digest = hashlib.sha256(f"{job_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def learn(spec: JobSpec, rows: list[PrelabeledRow]) -> dict[str, float]:
    """Per class, the lowest confidence from which the model's labels reach
    the owner's target precision against human labels (at the lower end of
    its Wilson interval); only classes with
    `min_learning_items` human labels, and never a threshold of 1 (none)."""
    routing = spec.routing
    assert routing is not None
    classes = calibrate(spec, rows, LEARNING_BUCKETS, routing.target_precision, z=WILSON_Z)
    return {
        c.class_name: c.accept_threshold
        for c in classes
        if c.items >= routing.min_learning_items and c.accept_threshold < 1.0
    }


def thresholds(routing: ModelRouting, learned: Mapping[str, float]) -> dict[str, float]:
    """The thresholds in force: learned ones when learning is on, the owner's over them."""
    out = dict(learned) if routing.learn_thresholds else {}
    out.update(routing.class_thresholds)
    return out


def accept(
    tx: Tx, spec: JobSpec, job_id: int, limits: Mapping[str, float], now: float, after_id: int = 0
) -> tuple[int, int | None]:
    """Labels the untouched items after `after_id` at or above their class's
    threshold with the model's pre-label, up to CHUNK items read, so that one
    write never holds the writer for long; audited items keep their place in
    the queue, and the humans' label becomes their next revision. Returns the
    items labeled and the last id read (None when no item is left to read)."""
    if not limits:
        return 0, None
    labeled = 0
    rows = tx.routable_items(job_id, min(limits.values()), after_id, CHUNK)
    for item in rows:
        assert item.prelabel is not None and item.prelabel_confidence is not None  # the query's condition
        name = category(spec, json.loads(item.prelabel))
        confidence = item.prelabel_confidence
        if name not in limits or confidence < limits[name] or name not in spec.class_names:
            continue
        label = Consolidated(
            value={"classification": {"class_name": name}},
            confidence=confidence,
            probabilities={name: confidence},
            method=METHOD,
            judgment_count=0,
            tie=False,
        )
        audit = spec.routing is not None and audited(job_id, item.key, spec.routing.audit_share)
        values = {} if audit else {"state": int(ItemState.LABELED)}
        labeling.append_label(tx, job_id, item, label, now, human=False, spec=spec, **values)
        labeled += 1
    if labeled:
        tx.count_job(job_id, labeled_items=labeled)
    return labeled, (rows[-1].id if len(rows) == CHUNK else None)


@dataclass(frozen=True)
class ClassRouting:
    class_name: str
    threshold: float
    learned: bool
    auto_accepted: int
    audited: int
    audit_agreed: int

    @property
    def precision(self) -> float:
        return self.audit_agreed / self.audited if self.audited else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.audit_agreed, self.audited)


def report(
    spec: JobSpec, job_id: int, rows: list[ModelAcceptedRow], learned: Mapping[str, float]
) -> tuple[list[ClassRouting], int]:
    """Per class: accepted, audited, audits that agreed; and the human
    judgments saved (accepted items no human labeled, at the job's judgments
    per item)."""
    routing = spec.routing
    if routing is None:
        return [], 0
    limits = thresholds(routing, learned)
    counts: dict[str, list[int]] = {}
    saved = 0
    for row in rows:
        name = category(spec, json.loads(row.model_value))
        entry = counts.setdefault(name, [0, 0, 0])
        entry[0] += 1
        if int(row.human):
            entry[1] += 1
            entry[2] += int(category(spec, json.loads(row.value)) == name)
        elif not audited(job_id, str(row.key), routing.audit_share):
            saved += spec.judgments_per_item
    names = sorted(set(counts) | set(limits))
    out = [
        ClassRouting(
            class_name=name,
            threshold=limits.get(name, 1.0),
            learned=name in learned and name not in routing.class_thresholds and routing.learn_thresholds,
            auto_accepted=counts.get(name, [0, 0, 0])[0],
            audited=counts.get(name, [0, 0, 0])[1],
            audit_agreed=counts.get(name, [0, 0, 0])[2],
        )
        for name in names
    ]
    return out, saved
