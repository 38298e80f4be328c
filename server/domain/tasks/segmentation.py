"""Semantic segmentation: a mask whose pixel values are class indexes (0 is the
background), voted per pixel; Ground Truth's form is a colour mask file."""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from labelwire.server.consolidation import PixelVote
from labelwire.server.domain.checks import require
from labelwire.server.domain.errors import InvalidArgument
from labelwire.server.domain.masks import MAX_PIXELS, colour_mask, encode_grey
from labelwire.server.domain.model import Answer, Consolidated, JobSpec
from labelwire.server.domain.tasks.base import Judged, Priors, Skills, TaskKind, item_label, uses_skill
from labelwire.server.domain.tasks.exports import Exported, ExportTo

BACKGROUND = "BACKGROUND"
# d3's category10, the palette Ground Truth's segmentation tool paints with.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def palette_colour(index: int) -> str:
    if index < len(PALETTE):
        return PALETTE[index]
    value = (index * 2654435761) & 0xFFFFFF
    return f"#{value:06x}"


MAX_MASK_PIXELS = MAX_PIXELS


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
    mask = encode_grey(result.labels.astype(np.uint8))
    return item_label(
        {"segmentation": {"mask_png": base64.b64encode(mask).decode()}},
        float(confidence),
        "pixel_vote" if weights is None else "weighted_pixel_vote",
        judgments,
    )


class Segmentation(TaskKind):
    name = "segmentation"
    answer_key = "segmentation"
    component = "segmentation"
    max_classes = 255
    reviewable = True
    mask_reference = True
    exports_labels = False
    groundtruth_tasks: ClassVar[Mapping[str, str]] = {"image": "SemanticSegmentation"}
    groundtruth_outputs = ("groundtruth/semantic-segmentation",)
    keywords = ("segmentation",)

    def validate_body(self, spec: JobSpec, body: dict[str, Any], field: str) -> None:
        where = f"{field}.segmentation.mask_png"
        require(bool(body.get("mask_png")), f"{where} is required", where)
        try:
            mask = decode_mask(str(body["mask_png"]))
        except ValueError as err:
            raise InvalidArgument(
                f"{field}.segmentation.{err}; it must be a greyscale (or palette) PNG of at most"
                f" {MAX_MASK_PIXELS} pixels whose values are class indexes",
                where,
            ) from None
        top = int(mask.max()) if mask.size else 0
        require(
            top <= len(spec.classes),
            f"{field}.segmentation.mask_png has pixel value {top}; values are class indexes from 0"
            f" (background) to {len(spec.classes)}",
        )

    def consolidate(
        self, spec: JobSpec, judgments: Judged, skills: Skills, class_priors: Priors = None
    ) -> Consolidated:
        return segmentation(spec, judgments, skills if uses_skill(spec) else None)

    def bodies_match(self, spec: JobSpec, mine: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Right when the mask's mean IoU with the gold mask over the classes
        either uses reaches the gold policy's `min_segmentation_iou` (painting
        by hand never matches pixel for pixel)."""
        masks = decode_mask(str(mine["mask_png"])), decode_mask(str(right["mask_png"]))
        return mask_mean_iou(*masks) >= spec.gold.min_segmentation_iou

    def export(self, body: Mapping[str, Any], to: ExportTo) -> Exported:
        if to.write_mask is None:
            raise ValueError("exporting segmentation labels needs somewhere to write the masks")
        colours = {i + 1: palette_colour(i) for i in range(len(to.classes))}
        uri = to.write_mask(colour_mask(base64.b64decode(body["mask_png"]), colours))
        colour_map = {
            "0": {
                "class-name": BACKGROUND,
                "hex-color": "#ffffff",
                "confidence": to.score,
            }
        }
        for i, name in enumerate(to.classes):
            colour_map[str(i + 1)] = {
                "class-name": name,
                "hex-color": palette_colour(i),
                "confidence": to.score,
            }
        return uri, {"internal-color-map": colour_map}, "groundtruth/semantic-segmentation"
