"""PNG masks (the segmentation answer's form): labelwire's class-index masks and Ground Truth's colour masks.

Ground Truth paints each class in its own colour; labelwire's segmentation
answer is a greyscale PNG whose pixel value is the class index. Pillow does the
decoding and encoding (every bit depth, palette and interlacing, with C-speed
unfiltering); this module only checks the size from the header before any pixel
is inflated and maps colours to class indexes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from PIL import Image

MAX_PIXELS = 4096 * 4096


class PngError(ValueError):
    pass


def decode_rgba(data: bytes) -> npt.NDArray[np.uint8]:
    """An (height, width, 4) RGBA array from a PNG of at most MAX_PIXELS pixels."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PngError(f"PNG has {width}x{height} pixels, more than {MAX_PIXELS}")
            if image.mode in ("I", "I;16", "I;16B"):
                # 16-bit grey: keep the high byte, as an 8-bit reading of it would.
                grey = (np.asarray(image, dtype=np.uint32) >> 8).astype(np.uint8)
                return np.asarray(Image.fromarray(grey, mode="L").convert("RGBA"), dtype=np.uint8)
            return np.asarray(image.convert("RGBA"), dtype=np.uint8)
    except PngError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise PngError(f"not a usable PNG: {err}") from None


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def encode_grey(values: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit greyscale PNG of a (height, width) array."""
    return _encode(Image.fromarray(np.ascontiguousarray(values, dtype=np.uint8), mode="L"))


def encode_rgba(pixels: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGBA PNG of a (height, width, 4) array; the format Ground Truth's tools paint in."""
    return _encode(Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode="RGBA"))


def class_mask(colour_png: bytes, values_by_colour: Mapping[str, int]) -> bytes:
    """Repaints a colour mask as class indexes; unknown and transparent pixels become 0 (background)."""
    rgba = decode_rgba(colour_png)
    packed = (rgba[:, :, 0].astype(np.uint32) << 16) | (rgba[:, :, 1].astype(np.uint32) << 8) | rgba[:, :, 2]
    out = np.zeros(packed.shape, dtype=np.uint8)
    for colour, value in values_by_colour.items():
        out[(packed == parse_hex_colour(colour)) & (rgba[:, :, 3] > 0)] = value
    return encode_grey(out)


def colour_mask(class_png: bytes, colours_by_value: Mapping[int, str]) -> bytes:
    """Paints a class-index mask in Ground Truth's colours (the reverse of `class_mask`)."""
    values = decode_rgba(class_png)[:, :, 0]
    out = np.zeros((*values.shape, 4), dtype=np.uint8)
    for value, colour in colours_by_value.items():
        rgb = parse_hex_colour(colour)
        out[values == value] = ((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, 255)
    return encode_rgba(out)


def parse_hex_colour(colour: str) -> int:
    text = colour.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        raise PngError(f"not a #rrggbb colour: {colour!r}")
    return int(text, 16)
