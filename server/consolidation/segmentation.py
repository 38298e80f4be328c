"""Semantic segmentation: a skill-weighted vote per pixel over integer class masks.

Decoding the masks (PNG, RLE) happens before this; here a mask is an integer
array of class indexes, one per worker, all of one shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelwire.server.consolidation.base import FloatArray, IntArray
from labelwire.server.consolidation.geometry import GeometryMethod


@dataclass
class SegmentationResult:
    """`labels[y, x]` is the winning class; `confidence[y, x]` its share of the weighted votes.

    `worker_agreement[m]` is the share of pixels where mask m equals the
    consolidated mask, and `worker_iou[m, c]` its IoU with it on class c (NaN
    where neither has the class): the per-class figure catches a worker who
    outlines the object carelessly, which pixel agreement on a mostly-background
    image hides.
    """

    labels: IntArray
    confidence: FloatArray
    worker_agreement: FloatArray
    worker_iou: FloatArray

    def image_confidence(self, masks: npt.ArrayLike) -> float:
        """One figure for the whole image: the mean pixel confidence over the pixels
        some mask gives a class other than background (0), or 1.0 when every mask is
        all background. Background the workers agree on would drown any disagreement
        about a small object, so it does not count."""
        stack = np.asarray(masks)
        marked = np.any(stack != 0, axis=0) if stack.size else np.zeros(self.confidence.shape, dtype=bool)
        return float(self.confidence[marked].mean()) if marked.any() else 1.0


class PixelVote(GeometryMethod[npt.ArrayLike, SegmentationResult]):
    """Per-pixel (skill-weighted) vote over one image's masks.

    Model: each pixel takes the class most workers' masks give it, each mask's vote
    weighted by its worker's skill: the weighted majority vote that STAPLE (Warfield,
    Zou & Wells (2004), "Simultaneous truth and performance level estimation (STAPLE)",
    IEEE Transactions on Medical Imaging 23(7)) starts from before it learns each
    worker's sensitivity by EM.

    Example (three 1 x 3 masks, two of which agree on the object's extent):

    >>> from labelwire.server.consolidation import PixelVote
    >>> result = PixelVote(n_classes=2).fit([[[0, 1, 1]], [[0, 1, 1]], [[0, 0, 1]]])
    >>> result.labels.tolist(), result.confidence.round(2).tolist()
    ([[0, 1, 1]], [[1.0, 0.67, 1.0]])
    """

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes

    def fit(self, judgments: npt.ArrayLike, *, worker_skill: FloatArray | None = None) -> SegmentationResult:
        """`judgments` is the stack of masks, one per worker, of shape (n_workers, *image_shape);
        `worker_skill` weights each mask's vote.

        Ties go to the lowest class index, which is background by convention.
        """
        stack = np.asarray(judgments)
        if stack.ndim < 2:
            raise ValueError("masks must have shape (n_masks, *image_shape)")
        k = self.n_classes
        if stack.size and (stack.min() < 0 or stack.max() >= k):
            raise ValueError(f"mask values must be class indexes in [0, {k})")
        n, shape = stack.shape[0], stack.shape[1:]
        flat = stack.reshape(n, -1)
        if not np.issubdtype(flat.dtype, np.integer):
            flat = flat.astype(np.int64)
        n_pixels = flat.shape[1]
        weight = np.ones(n) if worker_skill is None else np.asarray(worker_skill, dtype=np.float64)
        if weight.shape != (n,):
            raise ValueError(f"worker_skill must have one weight per mask ({n}), got {weight.shape}")

        # Votes only for the classes that occur: an image rarely holds more than a few
        # of up to 256 classes, and a row of votes per pixel per class is the big array.
        present = np.flatnonzero(np.bincount(flat.ravel(), minlength=k))
        code_of = np.zeros(k, dtype=np.intp)
        code_of[present] = np.arange(len(present))
        codes = code_of[flat]
        pixels = np.arange(n_pixels)
        votes = np.zeros((max(len(present), 1), n_pixels))
        for m in range(n):
            votes[codes[m], pixels] += weight[m]
        winner = np.argmax(votes, axis=0)
        total = votes.sum(axis=0)
        confidence = votes[winner, pixels] / np.where(total > 0, total, 1.0)
        labels = present[winner] if len(present) else winner

        agree = flat == labels[None, :]
        mine = np.zeros((n, k))
        both = np.zeros((n, k))
        theirs = np.bincount(labels, minlength=k).astype(np.float64)
        for m in range(n):
            mine[m] = np.bincount(flat[m], minlength=k)
            both[m] = np.bincount(flat[m][agree[m]], minlength=k)
        union = mine + theirs[None, :] - both
        with np.errstate(invalid="ignore", divide="ignore"):
            worker_iou = np.where(union > 0, both / union, np.nan)
        return SegmentationResult(
            labels=labels.reshape(shape).astype(np.int64),
            confidence=confidence.reshape(shape),
            worker_agreement=agree.mean(axis=1) if n_pixels else np.full(n, np.nan),
            worker_iou=worker_iou,
        )
