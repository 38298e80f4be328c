"""Item-level labels for answers that are geometry, not a class: boxes, entity
spans and masks. Each now lives with its task kind in `domain.tasks`; the names
stay importable here for callers that use them directly."""

from __future__ import annotations

from labelwire.server.domain.tasks.boxes import boxes
from labelwire.server.domain.tasks.segmentation import (
    MAX_MASK_PIXELS,
    decode_mask,
    mask_mean_iou,
    segmentation,
)
from labelwire.server.domain.tasks.spans import spans

__all__ = ["MAX_MASK_PIXELS", "boxes", "decode_mask", "mask_mean_iou", "segmentation", "spans"]
