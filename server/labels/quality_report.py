"""Quality of a job, measured: agreement, per-worker records, and how far a
model's pre-labels can be trusted (the bulk-QA analysis)."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from labelwire.server.consolidation import Judgments
from labelwire.server.consolidation.agreement import agreement_report
from labelwire.server.domain.model import Answer, JobSpec
from labelwire.server.domain.tasks import task_kind
from labelwire.server.store.rows import CountedJudgmentRow, GoldOutcomeRow, PrelabeledRow
from labelwire.server.store.rows_upkeep import JobDeclineRow


@dataclass(frozen=True)
class WorkerRecord:
    worker_id: int
    agreement_with_label: float
    median_time_seconds: float


@dataclass(frozen=True)
class JobQuality:
    items_measured: int
    dissent_histogram: list[int]
    fleiss_kappa: float
    krippendorff_alpha: float
    workers: dict[int, WorkerRecord] = field(default_factory=dict)
    versions: list[VersionQuality] = field(default_factory=list)


@dataclass(frozen=True)
class VersionQuality:
    """The judgments given under one instructions version."""

    version: int
    judgments: int
    agreement_with_label: float
    gold_judgments: int
    gold_accuracy: float


def by_version(
    spec: JobSpec, rows: list[CountedJudgmentRow], labels: dict[int, Answer], gold: dict[int, tuple[int, int]]
) -> list[VersionQuality]:
    """Per instructions version: counted work judgments, their agreement
    with the items' labels, and accuracy on gold, so an owner sees whether
    refined instructions helped."""
    work: dict[int, list[int]] = {}
    for r in rows:
        counts = work.setdefault(int(r.instructions_version), [0, 0, 0])
        counts[0] += 1
        label = labels.get(int(r.item_id))
        if label is not None:
            counts[1] += 1
            counts[2] += category(spec, json.loads(r.answer)) == category(spec, label)
    out = []
    for version in sorted(set(work) | set(gold)):
        judged, labeled, agreeing = work.get(version, [0, 0, 0])
        answered, right = gold.get(version, (0, 0))
        out.append(
            VersionQuality(
                version=version,
                judgments=judged,
                agreement_with_label=agreeing / labeled if labeled else 0.0,
                gold_judgments=answered,
                gold_accuracy=right / answered if answered else 0.0,
            )
        )
    return out


@dataclass(frozen=True)
class Declines:
    """Tasks workers declined: how many each worker declined, and the reasons most given."""

    total: int = 0
    by_worker: dict[int, int] = field(default_factory=dict)
    reasons: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Bucket:
    lower: float
    upper: float
    count: int
    accuracy: float


@dataclass(frozen=True)
class ClassCalibration:
    class_name: str
    buckets: list[Bucket]
    accept_threshold: float
    items: int


def category(spec: JobSpec, answer: Answer) -> str:
    """An answer as one nominal category, so agreement applies to any type."""
    return task_kind(spec).category(answer)


def _nan_to_zero(value: float) -> float:
    return 0.0 if value is None or np.isnan(value) else float(value)


def measure(spec: JobSpec, rows: list[CountedJudgmentRow], labels: dict[int, Answer]) -> JobQuality:
    """Agreement over items with two judgments or more, against their labels."""
    if not rows:
        return JobQuality(0, [], 0.0, 0.0)
    items = np.array([int(r.item_id) for r in rows], dtype=np.int64)
    workers = np.array([int(r.worker_id) for r in rows], dtype=np.int64)
    seconds = np.array([int(r.time_spent_ms) / 1000 for r in rows])
    names: dict[str, int] = {}
    answers = np.array([names.setdefault(category(spec, json.loads(r.answer)), len(names)) for r in rows])
    item_ids, item_index = np.unique(items, return_inverse=True)
    worker_ids, worker_index = np.unique(workers, return_inverse=True)
    label_codes = np.array(
        [
            names.setdefault(category(spec, labels[i]), len(names)) if i in labels else -1
            for i in item_ids.tolist()
        ]
    )
    table = Judgments.from_lists(
        item_index,
        worker_index,
        answers,
        n_classes=max(len(names), 1),
        n_items=len(item_ids),
        n_workers=len(worker_ids),
    )
    per_item = np.bincount(item_index, minlength=len(item_ids))
    measured = per_item >= 2
    keep = measured[item_index]
    report = agreement_report(
        Judgments.from_lists(
            item_index[keep],
            worker_index[keep],
            answers[keep],
            n_classes=table.n_classes,
            n_items=len(item_ids),
            n_workers=len(worker_ids),
        ),
        np.where(label_codes >= 0, label_codes, 0),
    )
    hist = report.dissent_histogram.tolist() if int(measured.sum()) else []
    agreement = (label_codes[item_index] == answers).astype(float)
    records = {}
    for w, wid in enumerate(worker_ids.tolist()):
        mine = worker_index == w
        labeled = mine & (label_codes[item_index] >= 0)
        records[wid] = WorkerRecord(
            worker_id=wid,
            agreement_with_label=float(agreement[labeled].mean()) if labeled.any() else 0.0,
            median_time_seconds=float(np.median(seconds[mine])),
        )
    return JobQuality(
        items_measured=int(measured.sum()),
        dissent_histogram=[int(h) for h in hist],
        fleiss_kappa=_nan_to_zero(report.fleiss_kappa),
        krippendorff_alpha=_nan_to_zero(report.krippendorff_alpha),
        workers=records,
    )


def declines(rows: list[JobDeclineRow], top: int = 10) -> Declines:
    """Counts per worker and the `top` reasons by count (then alphabetically), so an owner sees
    what makes workers turn items down: unreadable images, a missing class, unclear instructions."""
    by_worker = Counter(int(r.worker_id) for r in rows)
    reasons = Counter(str(r.decline_reason) for r in rows if r.decline_reason)
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Declines(total=len(rows), by_worker=dict(by_worker), reasons=ranked)


TREND_POINTS = 100


def accuracy_trends(rows: list[GoldOutcomeRow], points: int = TREND_POINTS) -> dict[int, list[float]]:
    """Each worker's gold accuracy so far after each of its gold answers, thinned to
    `points` evenly spaced ones (the first and the last kept), so a worker with
    thousands of gold answers still costs a hundred numbers on the wire."""
    right: dict[int, int] = {}
    series: dict[int, list[float]] = {}
    for r in rows:
        worker = int(r.worker_id)
        right[worker] = right.get(worker, 0) + (1 if r.gold_correct else 0)
        line = series.setdefault(worker, [])
        line.append(right[worker] / (len(line) + 1))
    out: dict[int, list[float]] = {}
    for worker, line in series.items():
        if len(line) <= points:
            out[worker] = line
        else:
            step = (len(line) - 1) / (points - 1)
            out[worker] = [line[round(i * step)] for i in range(points)]
    return out


def wilson(hits: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion: sound at 0, 1 and small n."""
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def calibrate(
    spec: JobSpec, rows: list[PrelabeledRow], buckets: int, target_precision: float, z: float = 0.0
) -> list[ClassCalibration]:
    """Per predicted class, the model's accuracy by confidence bucket and the
    lowest edge above which its labels reach `target_precision`: measured, or
    with `z`, the lower end of the measure's Wilson interval (so that a few
    lucky labels choose no edge)."""
    by_class: dict[str, list[tuple[float, bool]]] = {}
    for row in rows:
        predicted = category(spec, json.loads(row.prelabel))
        agreed = predicted == category(spec, json.loads(row.value))
        by_class.setdefault(predicted, []).append((float(row.prelabel_confidence or 0.0), agreed))
    edges = np.linspace(0.0, 1.0, buckets + 1)
    out = []
    for name in sorted(by_class):
        conf = np.array([c for c, _ in by_class[name]])
        right = np.array([a for _, a in by_class[name]], dtype=float)
        slot = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, buckets - 1)
        counts = np.bincount(slot, minlength=buckets)
        hits = np.bincount(slot, weights=right, minlength=buckets)
        table = [
            Bucket(float(edges[b]), float(edges[b + 1]), int(counts[b]), float(hits[b] / counts[b]))
            for b in range(buckets)
            if counts[b]
        ]
        above_counts = np.cumsum(counts[::-1])[::-1]
        above_hits = np.cumsum(hits[::-1])[::-1]
        threshold = 1.0
        for b in range(buckets):
            if not counts[b]:
                continue
            measured = above_hits[b] / above_counts[b]
            if z > 0:
                measured = wilson(above_hits[b], above_counts[b], z)[0]
            if measured >= target_precision:
                threshold = float(edges[b])
                break
        out.append(ClassCalibration(name, table, threshold, len(conf)))
    return out
