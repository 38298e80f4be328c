"""Which workers drift on a box job: each worker's share of outlying annotations.

An annotation is a worker's boxes on one item; it is an outlier when it does not match the
item's consolidated boxes (every box paired with one of the same class at IoU 0.5 or more,
none left over). As with numbers (`consolidation.numeric.worker_outliers`), an item needs
three annotations before one can be called off, and a worker's rate is shrunk towards the
pool's so that one miss in two is not a drift while a tenth of two hundred is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelwire.server.consolidation import boxes as box_library
from labelwire.server.consolidation.numeric import NumericResult, worker_outliers
from labelwire.server.domain.model import JobSpec
from labelwire.server.labels import geometry

MATCH_IOU = 0.5
MIN_VALUES = 3
TASK_TYPES = ("bounding_box",)


@dataclass(frozen=True)
class WorkerRate:
    worker_id: int
    checked: int
    flagged: int
    rate: float
    shrunk_rate: float
    drifting: bool


@dataclass(frozen=True)
class Report:
    workers: list[WorkerRate]
    pool_rate: float
    items: int


def _corners(box: dict[str, Any]) -> tuple[str, list[float]]:
    left, top = float(box.get("left", 0)), float(box.get("top", 0))
    return box["class_name"], [left, top, left + float(box["width"]), top + float(box["height"])]


def matches(given: Sequence[dict[str, Any]], centre: Sequence[dict[str, Any]]) -> bool:
    """Whether one worker's boxes pair one-to-one with the consolidated boxes (same class,
    IoU at least `MATCH_IOU`), greedily by IoU."""
    if len(given) != len(centre):
        return False
    mine = [_corners(b) for b in given]
    theirs = [_corners(b) for b in centre]
    pairs = sorted(
        (
            (float(box_library.iou(np.array([a]), np.array([b]))[0, 0]), i, j)
            for i, (ca, a) in enumerate(mine)
            for j, (cb, b) in enumerate(theirs)
            if ca == cb
        ),
        reverse=True,
    )
    used_i: set[int] = set()
    used_j: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < MATCH_IOU:
            break
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
    return len(used_i) == len(mine)


def report(spec: JobSpec, rows: Sequence[Any]) -> Report:
    """Per worker of the job's counted judgments (`Tx.job_judgments` rows, by item)."""
    by_item: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for r in rows:
        by_item.setdefault(int(r["item_id"]), []).append((int(r["worker_id"]), json.loads(r["answer"])))
    items: list[int] = []
    workers: list[int] = []
    flagged: list[bool] = []
    counts: list[int] = []
    for n, judgments in enumerate(by_item.values()):
        counts.append(len(judgments))
        centre = geometry.boxes(spec, judgments).value["bounding_boxes"]["boxes"]
        for worker, answer in judgments:
            items.append(n)
            workers.append(worker)
            flagged.append(not matches(answer["bounding_boxes"].get("boxes", []), centre))
    worker_ids, dense = np.unique(np.array(workers, dtype=np.int64), return_inverse=True)
    n_values = np.array(counts, dtype=np.int64)
    outliers = np.array(flagged, dtype=np.bool_) & (n_values[np.array(items, dtype=np.int64)] >= MIN_VALUES)
    result = NumericResult(
        centre=np.zeros(len(counts)),
        spread=np.zeros(len(counts)),
        n_values=n_values,
        deviation=np.zeros(len(items)),
        outliers=outliers,
    )
    rates = worker_outliers(result, np.array(items, dtype=np.int64), dense, len(worker_ids))
    out = [
        WorkerRate(
            worker_id=int(w),
            checked=int(rates.checked[n]),
            flagged=int(rates.flagged[n]),
            rate=float(rates.flagged[n] / rates.checked[n]) if rates.checked[n] else 0.0,
            shrunk_rate=float(rates.rate[n]),
            drifting=bool(rates.drifting[n]),
        )
        for n, w in enumerate(worker_ids.tolist())
    ]
    return Report(workers=out, pool_rate=rates.pool_rate, items=int(np.sum(n_values >= MIN_VALUES)))
