"""Bounding boxes: match workers' boxes by overlap, keep what most saw, average it.

The way Ground Truth consolidates boxes: boxes of one class on one item are
clustered by IoU (a box joins the cluster it overlaps most, at IoU at least the
threshold, and a cluster holds at most one box per worker); a cluster survives
when more than `min_share` of the workers shown the item drew it, and the output
is the skill-weighted mean of its boxes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import FloatArray, IntArray, indexes, size_of
from labelwire.server.consolidation.geometry import GeometryMethod, MarkedJudgments, assignments


def iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise intersection over union of boxes (x_min, y_min, x_max, y_max): shape (len(a), len(b))."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


@dataclass(frozen=True)
class BoxJudgments(MarkedJudgments):
    """One row per drawn box (x_min, y_min, x_max, y_max); without assignments, each
    worker was shown the items it drew on."""

    boxes: FloatArray
    n_items: int

    @classmethod
    def from_lists(
        cls,
        items: npt.ArrayLike,
        workers: npt.ArrayLike,
        boxes: npt.ArrayLike,
        labels: npt.ArrayLike | None = None,
        *,
        assigned: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        n_items: int | None = None,
        n_workers: int | None = None,
    ) -> BoxJudgments:
        it, wk = indexes(items), indexes(workers)
        bx = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        lb = np.zeros(it.size, dtype=np.int64) if labels is None else indexes(labels)
        if not (it.size == wk.size == bx.shape[0] == lb.size):
            raise ValueError("items, workers, boxes and labels must have one row per box")
        if np.any(bx[:, 2:] < bx[:, :2]):
            raise ValueError("boxes must be (x_min, y_min, x_max, y_max) with max >= min")
        a_items, a_workers = (it, wk) if assigned is None else assignments(assigned)
        return cls(
            items=it,
            workers=wk,
            boxes=bx,
            labels=lb,
            assigned_items=a_items,
            assigned_workers=a_workers,
            n_items=size_of(n_items, it, a_items),
            n_workers=size_of(n_workers, wk, a_workers),
        )


@dataclass
class BoxResult:
    """One row per consolidated box.

    `confidence` is `share * mutual_iou`: the (skill-weighted) share of the item's
    workers who drew the box times how tightly their boxes agree. It ranks boxes
    for review; it is not a probability. `cluster[j]` maps input box j to its
    output row (-1 when its cluster was dropped), and `worker_precision[w]` is the
    share of a worker's boxes that survived.
    """

    items: IntArray
    labels: IntArray
    boxes: FloatArray
    confidence: FloatArray
    share: FloatArray
    mutual_iou: FloatArray
    support: IntArray
    cluster: IntArray
    worker_precision: FloatArray


class BoxConsolidation(GeometryMethod[BoxJudgments, BoxResult]):
    """Ground Truth-style box consolidation: IoU clustering, majority filter, weighted mean.

    Model: the boxes the workers drew for one object overlap; boxes of one class on one
    item are grouped by IoU (Jaccard index), a group seen by more than `min_share` of
    the workers shown the item is an object, and its box is the skill-weighted mean.
    The consolidation Amazon SageMaker Ground Truth documents for its bounding-box task
    ("Annotation consolidation", SageMaker Developer Guide); IoU as in Everingham et al.
    (2010), "The PASCAL Visual Object Classes (VOC) Challenge", IJCV 88(2).

    Example (two of three workers drew about the same box; the third's is far off):

    >>> from labelwire.server.consolidation import BoxJudgments, BoxConsolidation
    >>> j = BoxJudgments.from_lists([0, 0, 0], [0, 1, 2], [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    >>> result = BoxConsolidation().fit(j)
    >>> result.boxes.tolist(), result.support.tolist()
    ([[0.5, 0.5, 10.5, 10.5]], [2])
    """

    def __init__(self, iou_threshold: float = 0.5, min_share: float = 0.5) -> None:
        self.iou_threshold = iou_threshold
        self.min_share = min_share

    def fit(self, judgments: BoxJudgments, *, worker_skill: FloatArray | None = None) -> BoxResult:
        """Clusters per (item, class); `worker_skill` weights the means and the share."""
        skill, n_shown, shown_weight = judgments.voters(worker_skill, judgments.n_items)

        order = np.lexsort((judgments.workers, -skill[judgments.workers], judgments.labels, judgments.items))
        items, labels = judgments.items[order], judgments.labels[order]
        workers, boxes = judgments.workers[order], judgments.boxes[order]

        local, mutual_iou = self._cluster_groups(items, labels, workers, boxes, skill)
        n_clusters = mutual_iou.size
        weight = skill[workers]
        support = np.bincount(local, minlength=n_clusters)
        support_weight = np.bincount(local, weights=weight, minlength=n_clusters)
        mean = (
            np.stack(
                [np.bincount(local, weights=weight * boxes[:, d], minlength=n_clusters) for d in range(4)],
                axis=1,
            )
            / np.maximum(support_weight, 1e-12)[:, None]
        )
        first = np.unique(local, return_index=True)[1]
        c_items, c_labels = items[first], labels[first]
        keep = support > self.min_share * n_shown[c_items]
        share = support_weight / np.maximum(shown_weight[c_items], 1e-12)

        out_index = np.full(n_clusters, -1, dtype=np.int64)
        out_index[keep] = np.arange(int(keep.sum()))
        cluster = np.empty(items.size, dtype=np.int64)
        cluster[order] = out_index[local]
        drawn = np.bincount(judgments.workers, minlength=judgments.n_workers).astype(np.float64)
        kept = np.bincount(
            judgments.workers, weights=(cluster >= 0).astype(np.float64), minlength=judgments.n_workers
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(drawn > 0, kept / drawn, np.nan)
        return BoxResult(
            items=c_items[keep],
            labels=c_labels[keep],
            boxes=mean[keep],
            confidence=(np.minimum(share, 1.0) * mutual_iou)[keep],
            share=share[keep],
            mutual_iou=mutual_iou[keep],
            support=support[keep],
            cluster=cluster,
            worker_precision=precision,
        )

    def _cluster_groups(
        self, items: IntArray, labels: IntArray, workers: IntArray, boxes: FloatArray, skill: FloatArray
    ) -> tuple[IntArray, FloatArray]:
        """Cluster index of every box (rows sorted by item, class, skill) and each cluster's mutual IoU."""
        group_starts = np.flatnonzero(
            np.r_[True, (items[1:] != items[:-1]) | (labels[1:] != labels[:-1]), True]
        )
        local = np.empty(items.size, dtype=np.int64)
        mutual_parts: list[FloatArray] = [np.zeros(0)]
        n_clusters = 0
        for start, end in itertools.pairwise(group_starts):
            found, mutual = self._cluster(boxes[start:end], workers[start:end], skill[workers[start:end]])
            local[start:end] = found + n_clusters
            n_clusters += mutual.size
            mutual_parts.append(mutual)
        return local, np.concatenate(mutual_parts)

    def _cluster(
        self, boxes: FloatArray, workers: IntArray, weight: FloatArray
    ) -> tuple[IntArray, FloatArray]:
        """Greedy matching of one item's boxes of one class, worker by worker, best worker first.

        Each worker's boxes are matched to the running cluster means by highest
        IoU first, so one worker never lands two boxes in one cluster. Returns the
        cluster of each box and each cluster's mean pairwise IoU (1 for a lone box).
        """
        n = boxes.shape[0]
        cluster = np.full(n, -1, dtype=np.int64)
        sums = np.zeros((n, 4))
        weights = np.zeros(n)
        n_found = 0
        starts = np.flatnonzero(np.r_[True, workers[1:] != workers[:-1], True])
        for start, end in itertools.pairwise(starts):
            if n_found:
                overlap = iou(boxes[start:end], sums[:n_found] / weights[:n_found, None])
                while overlap.size:
                    row, col = np.unravel_index(int(np.argmax(overlap)), overlap.shape)
                    if overlap[row, col] < self.iou_threshold:
                        break
                    cluster[start + row] = col
                    sums[col] += weight[start + row] * boxes[start + row]
                    weights[col] += weight[start + row]
                    overlap[row, :] = -1.0
                    overlap[:, col] = -1.0
            fresh = start + np.flatnonzero(cluster[start:end] < 0)
            cluster[fresh] = n_found + np.arange(fresh.size)
            sums[cluster[fresh]] = weight[fresh, None] * boxes[fresh]
            weights[cluster[fresh]] = weight[fresh]
            n_found += fresh.size

        size = np.bincount(cluster, minlength=n_found).astype(np.float64)
        member = np.zeros((n, n_found))
        member[np.arange(n), cluster] = 1.0
        pair_sum = np.einsum("ac,ab,bc->c", member, iou(boxes, boxes), member)
        with np.errstate(invalid="ignore", divide="ignore"):
            mutual = np.where(size > 1, (pair_sum - size) / (size * (size - 1)), 1.0)
        return cluster, mutual
