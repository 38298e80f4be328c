"""The job-level consolidation pass.

Item-level labels are decided the moment an item has its judgments, from what
is known of its workers then. A job-level pass fits the job's chosen model
(Dawid-Skene, one-coin, GLAD, weighted vote) to every counted judgment of the
job, gold clamped, and so learns each worker's accuracy from all of their work;
labels it changes get a new revision, and the accuracies it learned weigh the
item-level labels that follow. It runs as the job grows and once more before
the job completes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelwire.server.consolidation import (
    GLAD,
    BinaryRelevance,
    ClassificationResult,
    DawidSkene,
    Judgments,
    MultiLabelJudgments,
    OneCoinDawidSkene,
    WeightedMajorityVote,
)
from labelwire.server.consolidation.pool_shrink import item_posteriors, one_coin, shrink_to_pool
from labelwire.server.dispatch import dispatcher as dispatch
from labelwire.server.dispatch.gate import estimated_skill
from labelwire.server.domain import specs
from labelwire.server.domain.model import Consolidated, ItemState, JobSpec
from labelwire.server.domain.tasks import task_kind
from labelwire.server.domain.tasks.classification import DEFAULT_SKILL
from labelwire.server.domain.tasks.multi_label import MultiLabel
from labelwire.server.labels import items as labeling
from labelwire.server.store import Tx
from labelwire.server.store.rows import PassInputRow

MIN_NEW_JUDGMENTS = 20
AUTO_JUDGMENTS_PER_WORKER = 10


@dataclass
class PassResult:
    labels: dict[int, Consolidated] = field(default_factory=dict)
    skills: dict[int, float] = field(default_factory=dict)
    seen_sequence: dict[int, int | None] = field(default_factory=dict)
    model: labeling.JobModel | None = None
    open_posteriors: dict[int, tuple[list[float], int]] = field(default_factory=dict)
    """Open items' posteriors under the pass, with the judgments they rest on."""


def due(judgments: int, at_last_pass: int) -> bool:
    """A pass is worth running once the job has grown by a tenth (and by at
    least MIN_NEW_JUDGMENTS)."""
    return judgments - at_last_pass >= max(MIN_NEW_JUDGMENTS, at_last_pass // 10)


def _model(spec: JobSpec, n_judgments: int, n_workers: int) -> Any | None:
    method = spec.consolidation_method
    if method == "auto":
        enough = n_workers and n_judgments / n_workers >= AUTO_JUDGMENTS_PER_WORKER
        return DawidSkene() if enough else None
    return {
        "dawid_skene": DawidSkene,
        "one_coin": OneCoinDawidSkene,
        "glad": GLAD,
        "weighted_majority": WeightedMajorityVote,
    }.get(method, lambda: None)()


def compute(spec: JobSpec, rows: list[PassInputRow], pool_skill: float = DEFAULT_SKILL) -> PassResult:
    """Fits the job's model to its judgments: single-label jobs directly,
    multi-label jobs one yes/no question per class. `pool_skill` is the accuracy of the
    job's workers on gold (`read_input`), which the kept model's matrices are shrunk
    towards."""
    kind = task_kind(spec)
    if not kind.job_models or not rows:
        return PassResult()
    items = np.array([int(r.item_id) for r in rows], dtype=np.int64)
    workers = np.array([int(r.worker_id) for r in rows], dtype=np.int64)
    item_ids, item_index = np.unique(items, return_inverse=True)
    worker_ids, worker_index = np.unique(workers, return_inverse=True)
    model = _model(spec, len(rows), len(worker_ids))
    if model is None:
        return PassResult()
    first_row = {int(i): r for i, r in zip(items.tolist(), rows, strict=True)}
    gold_rows = [
        (n, json.loads(str(first_row[i].gold)))
        for n, i in enumerate(item_ids.tolist())
        if first_row[i].is_gold
    ]
    table = _Table(item_ids, item_index, worker_ids, worker_index, first_row)
    kept = None
    posteriors = None
    if isinstance(kind, MultiLabel):
        labels, skill = _multi(spec, model, rows, table, gold_rows)
    else:
        labels, skill, kept, posteriors = _single(spec, model, rows, table, gold_rows, pool_skill)
    out = PassResult(
        skills={int(w): float(s) for w, s in zip(worker_ids.tolist(), skill, strict=True)}, model=kept
    )
    counts = table.counts
    for n, item_id in enumerate(item_ids.tolist()):
        row = first_row[item_id]
        past_floor = counts[n] >= spec.floor
        if posteriors is not None and past_floor and not row.is_gold and int(row.state) == ItemState.OPEN:
            out.open_posteriors[item_id] = ([float(p) for p in posteriors[n]], int(counts[n]))
        if n in labels and not row.is_gold and int(row.state) == ItemState.LABELED:
            out.labels[item_id] = labels[n]
            out.seen_sequence[item_id] = row.label_sequence
    return out


@dataclass(frozen=True)
class _Table:
    item_ids: np.ndarray
    item_index: np.ndarray
    worker_ids: np.ndarray
    worker_index: np.ndarray
    first_row: dict[int, PassInputRow]

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.item_index, minlength=len(self.item_ids))


def _single(
    spec: JobSpec,
    model: Any,
    rows: list[PassInputRow],
    t: _Table,
    gold_rows: list[tuple[int, Any]],
    pool_skill: float,
) -> tuple[dict[int, Consolidated], np.ndarray, labeling.JobModel | None, np.ndarray]:
    names = spec.class_names
    index = {name: i for i, name in enumerate(names)}
    answers = np.array([index[json.loads(r.answer)["classification"]["class_name"]] for r in rows])
    table = Judgments.from_lists(
        t.item_index,
        t.worker_index,
        answers,
        n_classes=len(names),
        n_items=len(t.item_ids),
        n_workers=len(t.worker_ids),
    )
    gold_items = np.array([n for n, _ in gold_rows], dtype=np.int64)
    gold_answers = np.array([index[g["classification"]["class_name"]] for _, g in gold_rows], dtype=np.int64)
    result: ClassificationResult = model.fit(table, gold=(gold_items, gold_answers))
    counts = t.counts
    labels = {
        n: Consolidated(
            value={"classification": {"class_name": names[int(result.labels[n])]}},
            confidence=float(result.confidence[n]),
            probabilities={c: float(p) for c, p in zip(names, result.posteriors[n], strict=True) if p > 1e-6},
            method=spec.consolidation_method,
            judgment_count=int(counts[n]),
            tie=bool(result.ties[n]),
        )
        for n in range(len(t.item_ids))
        if result.labels[n] >= 0
    }
    matrices = _matrices(result, len(names))
    if matrices is None or result.class_priors is None:
        return labels, np.nan_to_num(result.worker_skill, nan=0.7), None, result.posteriors
    shrunk = shrink_to_pool(matrices, np.bincount(t.worker_index, minlength=len(t.worker_ids)), pool_skill)
    priors = np.asarray(result.class_priors, dtype=np.float64)
    kept = labeling.JobModel(
        priors=priors,
        confusions={int(w): shrunk[n] for n, w in enumerate(t.worker_ids.tolist())},
        method=spec.consolidation_method,
    )
    return labels, np.nan_to_num(result.worker_skill, nan=0.7), kept, item_posteriors(table, shrunk, priors)


def _matrices(result: ClassificationResult, k: int) -> np.ndarray | None:
    """Each worker's matrix for labeling items until the next pass (the kept model, shrunk
    towards the pool's by `shrink_to_pool`): Dawid-Skene's confusion matrices; one-coin and
    GLAD's worker accuracies with errors spread evenly (GLAD's item difficulty is unknown
    for an item the pass has not seen). None for a method that learns neither (weighted
    vote keeps its skill-weighted labels)."""
    if result.confusion is not None:
        return np.asarray(result.confusion, dtype=np.float64)
    if result.class_priors is None:
        return None
    return one_coin(np.nan_to_num(result.worker_skill, nan=DEFAULT_SKILL), k)


def read_input(tx: Tx, job_id: int) -> tuple[list[PassInputRow], float]:
    """A pass's judgments, and the accuracy on gold (quiz answers included) of the workers
    who gave them, pooled and smoothed as `gate.estimated_skill` smooths one worker's."""
    rows = tx.pass_input(job_id)
    records = tx.skills_of(sorted({int(r.worker_id) for r in rows})) if rows else {}
    answered = sum(r[1] for r in records.values())
    right = sum(r[2] for r in records.values())
    return rows, estimated_skill(None, answered, right)


def _multi(
    spec: JobSpec, model: Any, rows: list[PassInputRow], t: _Table, gold_rows: list[tuple[int, Any]]
) -> tuple[dict[int, Consolidated], np.ndarray]:
    names = spec.class_names
    index = {name: i for i, name in enumerate(names)}

    def ticked(answer: Any) -> np.ndarray:
        row = np.zeros(len(names), dtype=np.bool_)
        row[[index[c] for c in answer["multi_label"].get("class_names", [])]] = True
        return row

    selected = np.array([ticked(json.loads(r.answer)) for r in rows]).reshape(len(rows), len(names))
    table = MultiLabelJudgments.from_lists(
        t.item_index, t.worker_index, selected, n_items=len(t.item_ids), n_workers=len(t.worker_ids)
    )
    gold = None
    if gold_rows:
        gold = (np.array([n for n, _ in gold_rows]), np.array([ticked(g) for _, g in gold_rows]))
    result = BinaryRelevance(aggregator=model).fit(table, gold=gold)
    counts = t.counts
    labels = {
        n: Consolidated(
            value={"multi_label": {"class_names": [names[c] for c in np.flatnonzero(result.labels[n])]}},
            confidence=float(result.confidence[n].min()) if len(names) else 1.0,
            probabilities={c: float(p) for c, p in zip(names, result.posteriors[n], strict=True) if p > 1e-6},
            method=spec.consolidation_method,
            judgment_count=int(counts[n]),
            tie=bool(np.any(np.isclose(result.posteriors[n], 0.5))),
        )
        for n in range(len(t.item_ids))
        if counts[n] > 0
    }
    return labels, np.nan_to_num(result.worker_skill.mean(axis=1), nan=0.7)


def _update_open_posteriors(tx: Tx, result: PassResult) -> None:
    """The pass's posterior for each open item waiting for an extra judgment (one that has a
    stored posterior) and judged no further since the pass's snapshot: the dispatcher's
    least-confident-first order follows the job's model as it learns."""
    for item_id, (posterior, counted) in result.open_posteriors.items():
        item = tx.item(item_id)
        if (
            item is not None
            and item.open_confidence is not None
            and item.state == ItemState.OPEN
            and item.done == counted
        ):
            tx.set_open_posterior(item_id, max(posterior), posterior)


def apply(tx: Tx, job_id: int, result: PassResult, judgments: int, now: float) -> int:
    """Writes a pass's revisions (skipping items relabeled since its snapshot)
    and its worker skills; completes the job if nothing is open. Returns the
    revisions written."""
    revised = 0
    job = tx.job(job_id)
    spec = specs.from_json(json.loads(job.spec)) if job is not None else None
    for item_id, label in result.labels.items():
        item = tx.item(item_id)
        if item is None or item.label_sequence != result.seen_sequence.get(item_id):
            continue
        if labeling.emit_label(tx, job_id, item, label, now, spec=spec) is not None:
            revised += 1
    tx.set_skills(result.skills)
    if result.model is not None and job is not None:
        labeling.save_model(tx, job_id, result.model)
    _update_open_posteriors(tx, result)
    tx.mark_pass(job_id, judgments)
    dispatch.complete_if_done(tx, job_id, now, after_pass=True)
    return revised
