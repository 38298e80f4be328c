"""Item-level labels for answers that are geometry, not a class: boxes and
entity spans, consolidated the way Ground Truth does (boxes clustered by IoU and
averaged; spans voted per character and rebuilt)."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwire.server.consolidation import BoxConsolidation, BoxJudgments, SpanJudgments, SpanVote
from labelwire.server.model import Answer, Consolidated, JobSpec


def _dense_workers(judgments: list[tuple[int, Answer]]) -> list[int]:
    index: dict[int, int] = {}
    return [index.setdefault(w, len(index)) for w, _ in judgments]


def boxes(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
    """Boxes a majority of the item's workers drew, each the mean of its cluster.
    The confidence is the mean box confidence (share of workers times their
    mutual IoU), or the share who drew nothing when nobody's boxes survive."""
    names = spec.class_names
    index = {n: i for i, n in enumerate(names)}
    workers = _dense_workers(judgments)
    rows: list[tuple[int, list[float], int]] = []
    for w, (_, answer) in zip(workers, judgments, strict=True):
        for box in answer["bounding_boxes"].get("boxes", []):
            left, top = float(box.get("left", 0)), float(box.get("top", 0))
            corners = [left, top, left + float(box["width"]), top + float(box["height"])]
            rows.append((w, corners, index[box["class_name"]]))
    n_workers = max(workers) + 1
    table = BoxJudgments.from_lists(
        np.zeros(len(rows), dtype=np.int64),
        [r[0] for r in rows],
        np.array([r[1] for r in rows], dtype=np.float64).reshape(-1, 4),
        [r[2] for r in rows],
        assigned=(np.zeros(n_workers, dtype=np.int64), np.arange(n_workers)),
        n_items=1,
        n_workers=n_workers,
    )
    result = BoxConsolidation().fit(table)
    out: list[dict[str, Any]] = []
    for (x0, y0, x1, y1), label in zip(result.boxes, result.labels, strict=True):
        out.append(
            {"class_name": names[int(label)], "left": float(x0), "top": float(y0),
             "width": float(x1 - x0), "height": float(y1 - y0)}
        )  # fmt: skip
    drew_nothing = n_workers - len({r[0] for r in rows})
    confidence = float(np.mean(result.confidence)) if out else drew_nothing / n_workers
    return Consolidated(
        value={"bounding_boxes": {"boxes": out}},
        confidence=confidence,
        probabilities={},
        method="box_clusters",
        judgment_count=len(judgments),
        tie=False,
    )


def spans(spec: JobSpec, judgments: list[tuple[int, Answer]]) -> Consolidated:
    """Entity spans rebuilt from a per-character vote; the confidence is the
    mean span confidence, or 1.0 when the workers agree there is none."""
    names = spec.class_names
    index = {n: i for i, n in enumerate(names)}
    workers = _dense_workers(judgments)
    rows: list[tuple[int, int, int, int]] = []
    for w, (_, answer) in zip(workers, judgments, strict=True):
        for span in answer["spans"].get("spans", []):
            rows.append((w, int(span.get("start", 0)), int(span["end"]), index[span["entity_type"]]))
    n_workers = max(workers) + 1
    length = max((r[2] for r in rows), default=1)
    table = SpanJudgments.from_lists(
        np.zeros(len(rows), dtype=np.int64),
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        assigned=(np.zeros(n_workers, dtype=np.int64), np.arange(n_workers)),
        n_tokens=[length],
        n_labels=len(names),
        n_workers=n_workers,
    )
    result = SpanVote().fit(table)
    out = [
        {"entity_type": names[int(label)], "start": int(start), "end": int(end)}
        for start, end, label in zip(result.starts, result.ends, result.labels, strict=True)
    ]
    return Consolidated(
        value={"spans": {"spans": out}},
        confidence=float(np.mean(result.confidence)) if out else 1.0,
        probabilities={},
        method="span_vote",
        judgment_count=len(judgments),
        tie=False,
    )
