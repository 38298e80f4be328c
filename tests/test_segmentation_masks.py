"""Segmentation masks as workers send them: decoding, and labels from masks that disagree."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from labelwire.server.domain.model import JobSpec, LabelClass
from labelwire.server.files import png
from labelwire.server.labels import geometry

SPEC = JobSpec(
    display_name="Segment",
    task_type="segmentation",
    classes=(LabelClass("car"), LabelClass("road")),
    task_config={},
    media_type="image",
)


def square(value: int = 1, size: int = 8) -> np.ndarray:
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[2:6, 2:6] = value
    return mask


def pillow_png(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode()


def answer(mask: np.ndarray) -> dict[str, dict[str, str]]:
    return {"segmentation": {"mask_png": base64.b64encode(png.encode_grey(mask)).decode()}}


def test_masks_written_by_an_image_library_decode_to_their_class_values() -> None:
    mask = np.random.default_rng(3).integers(0, 3, (37, 53)).astype(np.uint8)
    palette = Image.fromarray(mask, mode="L").convert("P")
    palette.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0])

    assert geometry.decode_mask(pillow_png(Image.fromarray(mask, mode="L"))).tolist() == mask.tolist()
    assert geometry.decode_mask(pillow_png(palette)).tolist() == mask.tolist()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_a_mask_over_the_pixel_limit_is_refused_from_its_header() -> None:
    header = struct.pack(">IIBBBBB", 8193, 4096, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(8194))
    huge = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="8193x4096 pixels, more than 16777216"):
        geometry.decode_mask(base64.b64encode(huge).decode())
    with pytest.raises(png.PngError, match="8193x4096 pixels, more than 16777216"):
        png.class_mask(huge, {"#ff0000": 1})
    with pytest.raises(ValueError, match="mask_png is not a usable PNG"):
        geometry.decode_mask(base64.b64encode(b"\x89PNG\r\n\x1a\nnot really").decode())


def test_workers_weighed_by_skill_outvote_a_careless_majority() -> None:
    careful, careless = square(1), square(2)

    label = geometry.segmentation(
        SPEC, [(1, answer(careful)), (2, answer(careless)), (3, answer(careless))], {1: 0.95, 2: 0.3, 3: 0.3}
    )

    voted = png.decode_rgba(base64.b64decode(label.value["segmentation"]["mask_png"]))[:, :, 0]
    assert voted.tolist() == careful.tolist()
    assert label.method == "weighted_pixel_vote"
    assert label.confidence == pytest.approx(0.95 / 1.55)


def test_a_mask_of_another_size_counts_against_the_label() -> None:
    label = geometry.segmentation(
        SPEC, [(1, answer(square())), (2, answer(square())), (3, answer(square(size=9)))]
    )

    voted = png.decode_rgba(base64.b64decode(label.value["segmentation"]["mask_png"]))[:, :, 0]
    assert voted.tolist() == square().tolist()
    assert label.confidence == pytest.approx(2 / 3)
