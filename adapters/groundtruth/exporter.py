"""Writing labelwire labels as a Ground Truth augmented manifest (ExportLabels).

The augmented manifest is what SageMaker training jobs and most labeling tools
read, so exported labels follow Ground Truth's per-type shapes exactly.
Segmentation labels are mask images, which the manifest only references: they
are written beside it, under `<manifest name>-masks/`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from labelwire.adapters.base import kind_named
from labelwire.server.files import s3io
from labelwire.server.files.augmented import ExportFormat, ExportLabel, augmented_line

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any


def write_augmented_manifest(
    uri: str,
    labels: Iterable[ExportLabel],
    fmt: ExportFormat,
    *,
    s3: S3Client | None = None,
    kms_key_id: str | None = None,
) -> int:
    """Streams the labels to `uri` as an augmented manifest; returns the number of lines."""
    client = s3 or s3io.make_s3_client()
    masks = uri.rsplit(".", 1)[0] + "-masks"
    counter = itertools.count()

    def write_mask(png: bytes) -> str:
        mask_uri = s3io.join(masks, f"{next(counter)}.png")
        s3io.put_bytes(client, mask_uri, png, content_type="image/png", kms_key_id=kms_key_id)
        return mask_uri

    def lines() -> Iterator[dict[str, Any]]:
        for label in labels:
            yield augmented_line(label, fmt, write_mask if kind_named(fmt.task_type).mask_reference else None)

    return s3io.write_lines(client, uri, lines(), kms_key_id=kms_key_id)
