"""Item-level labels for answers that are geometry, not a class: boxes, entity
spans and masks, consolidated the way Ground Truth does (boxes clustered by IoU
and averaged; spans voted per character and rebuilt; masks voted per pixel)."""

from __future__ import annotations

import base64
import io
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from labelwire.server.consolidation import BoxConsolidation, BoxJudgments, PixelVote, SpanJudgments, SpanVote
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.files import png


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


MAX_MASK_PIXELS = png.MAX_PIXELS


def decode_mask(mask_png: str) -> npt.NDArray[np.integer[Any]]:
    """A segmentation answer's mask (base64 PNG, pixel value = class index) as a 2-d array.

    Pillow decodes it: masks arrive on the path of the transaction that labels
    the item, and browsers write Paeth-filtered rows, which a pure-Python
    decoder undoes a byte at a time (seconds for one HD mask). Greyscale and
    palette images give their values (a palette mask's index is its class, as
    in VOC-style datasets); colour images their first channel. The size is
    checked from the header, before any pixel is inflated. Raises ValueError
    on anything that is not such a PNG of at most MAX_MASK_PIXELS.
    """
    try:
        data = base64.b64decode(mask_png, validate=True)
    except ValueError:
        raise ValueError("mask_png is not base64") from None
    width = height = 0
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if width * height <= MAX_MASK_PIXELS:
                first = image.getchannel(0) if image.mode in ("RGB", "RGBA", "LA", "PA") else image
                pixels = np.asarray(first)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"mask_png is not a usable PNG: {err}") from None
    if width * height > MAX_MASK_PIXELS:
        raise ValueError(f"mask_png has {width}x{height} pixels, more than {MAX_MASK_PIXELS}")
    if pixels.ndim != 2:
        raise ValueError(f"mask_png must have one value per pixel, got an image of shape {pixels.shape}")
    return pixels


def mask_mean_iou(first: npt.NDArray[np.integer[Any]], second: npt.NDArray[np.integer[Any]]) -> float:
    """The mean intersection over union of two class masks, over the classes
    (background 0 excluded) either uses: each class counts alike, so a small
    class drawn wrong is not hidden by a large one drawn right. Masks of other
    sizes score 0; two masks with no class at all score 1."""
    if first.shape != second.shape:
        return 0.0
    classes = np.union1d(np.unique(first), np.unique(second))
    classes = classes[classes != 0]
    if classes.size == 0:
        return 1.0
    scores = [
        np.count_nonzero((first == c) & (second == c)) / np.count_nonzero((first == c) | (second == c))
        for c in classes
    ]
    return float(np.mean(scores))


def segmentation(
    spec: JobSpec, judgments: list[tuple[int, Answer]], skills: dict[int, float] | None = None
) -> Consolidated:
    """A mask voted per pixel (weighted by each worker's estimated accuracy when the job
    weighs workers). Masks of another size than the commonest cannot be voted with it and
    count as disagreeing everywhere. The confidence is the library's image confidence: the
    mean pixel agreement over the pixels some worker painted."""
    masks = [decode_mask(a["segmentation"]["mask_png"]) for _, a in judgments]
    shape = Counter(m.shape for m in masks).most_common(1)[0][0]
    kept = [i for i, m in enumerate(masks) if m.shape == shape]
    stack = np.stack([masks[i] for i in kept])
    weights = None
    if skills is not None:
        weights = np.array([skills.get(judgments[i][0], 0.7) for i in kept], dtype=np.float64)
    result = PixelVote(n_classes=len(spec.classes) + 1).fit(stack, worker_skill=weights)
    confidence = result.image_confidence(stack) * len(kept) / len(masks)
    mask = png.encode_grey(result.labels.astype(np.uint8))
    return Consolidated(
        value={"segmentation": {"mask_png": base64.b64encode(mask).decode()}},
        confidence=float(confidence),
        probabilities={},
        method="pixel_vote" if weights is None else "weighted_pixel_vote",
        judgment_count=len(judgments),
        tie=False,
    )
